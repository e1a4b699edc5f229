-- One row per distinct cause label as written (trimmed): Appendix C cause labels, Appendix 1 root
-- causes and the '(not stated)' placeholder, mapped to a canonical category through the
-- root_cause_categories seed on a normalised key. Unmapped labels get 'Unclassified'.
with causes as (
    select * from {{ ref('stg_raw__causes') }}
),

outcome_rows as (
    select * from {{ ref('stg_raw__outcome_rows') }}
),

subtotals as (
    select * from {{ ref('stg_raw__subtotals') }}
),

categories as (
    select * from {{ ref('root_cause_categories') }}
),

labels as (
    select cause_label, true as is_service_cause, false as is_outcome_root_cause from causes
    union all
    select root_cause, false, true from outcome_rows
    union all
    select root_cause, false, true from subtotals where root_cause is not null
    union all
    select {{ term('not_stated_cause') }}, true, false
),

distinct_labels as (
    select
        cause_label,
        bool_or(is_service_cause) as is_service_cause,
        bool_or(is_outcome_root_cause) as is_outcome_root_cause
    from labels
    group by cause_label
),

final as (
    select
        {{ surrogate_key(['distinct_labels.cause_label']) }} as root_cause_key,
        distinct_labels.cause_label,
        {{ match_key('distinct_labels.cause_label') }} as cause_label_normalised,
        coalesce(categories.root_cause_category, {{ term('unclassified_category') }}) as root_cause_category,
        coalesce(categories.category_kind, {{ term('unclassified_kind') }}) as category_kind,
        categories.root_cause_category is not null as is_mapped,
        distinct_labels.is_service_cause,
        distinct_labels.is_outcome_root_cause
    from distinct_labels
    left join categories
        on {{ match_key('distinct_labels.cause_label') }} = categories.cause_label_normalised
)

select * from final
