-- Appendix C cause rows with their service area key and canonical root-cause category.
with causes as (
    select * from {{ ref('stg_raw__causes') }}
),

labels as (
    select * from {{ ref('int_cause_labels__categorised') }}
),

final as (
    select
        causes.extract_id,
        causes.source_line,
        causes.cause_ordinal,
        {{ service_area_key('causes.extract_id', 'causes.department', 'causes.directorate', 'causes.service_area', 'causes.unresolved_section') }} as service_area_key,
        causes.department,
        causes.directorate,
        causes.service_area,
        causes.cause_label,
        causes.cause_label_normalised,
        labels.root_cause_key,
        labels.root_cause_category,
        labels.category_kind,
        causes.instances
    from causes
    left join labels on causes.cause_label = labels.cause_label
)

select * from final
