-- Grain: extract x issue-type row (department x root cause x issue type) x outcome; all five
-- outcomes per row, zeros included.
with outcomes as (
    select * from {{ ref('int_outcomes__unpivoted') }}
),

outcome_dim as (
    select * from {{ ref('dim_outcome') }}
),

final as (
    select
        outcomes.extract_id,
        outcomes.row_ordinal,
        outcomes.outcome,
        outcomes.council,
        outcomes.period,
        outcomes.source_line,
        outcomes.department_key,
        outcomes.root_cause_key,
        outcomes.issue_type_key,
        outcomes.department,
        outcomes.service_family,
        outcomes.root_cause,
        outcomes.root_cause_category,
        outcomes.issue_type,
        outcome_dim.is_decided,
        outcome_dim.is_fault_found,
        outcomes.outcome_count,
        outcomes.row_total_stated
    from outcomes
    inner join outcome_dim on outcomes.outcome = outcome_dim.outcome
)

select * from final
