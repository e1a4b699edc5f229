with labels as (
    select * from {{ ref('int_cause_labels__categorised') }}
),

final as (
    select
        root_cause_key,
        cause_label,
        cause_label_normalised,
        root_cause_category,
        category_kind,
        is_mapped,
        is_service_cause,
        is_outcome_root_cause
    from labels
)

select * from final
