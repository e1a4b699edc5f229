{{ config(severity='warn') }}
-- Cause labels (Appendix C) and root causes (Appendix 1) missing from seeds/root_cause_categories.csv:
-- they fall into 'Unclassified'. Add a row keyed on cause_label_normalised to fix.
with labels as (
    select * from {{ ref('int_cause_labels__categorised') }}
),

final as (
    select cause_label, cause_label_normalised, is_service_cause, is_outcome_root_cause
    from labels
    where not is_mapped
)

select * from final
