-- Grain: council x period, for every council-period with an Appendix 1 (outcome matrix) extract;
-- residents from the manifest's council context file when it has a row for the pair.
with extracts as (
    select distinct council, period
    from {{ ref('dim_extract') }}
    where kind = 'outcome_matrix'
),

outcomes as (
    select * from {{ ref('fct_complaint_outcomes') }}
),

context as (
    select * from {{ ref('stg_raw__council_context') }}
),

by_council as (
    select
        council,
        period,
        {{ outcome_counts('outcome', 'outcome_count') }}
    from outcomes
    group by 1, 2
),

counted as (
    select
        extracts.council,
        extracts.period,
        {%- for name in outcome_columns() %}
        coalesce(by_council.{{ name }}, 0) as {{ name }},
        {%- endfor %}
        coalesce(by_council.total, 0) as total
    from extracts
    left join by_council
        on extracts.council = by_council.council and extracts.period = by_council.period
),

final as (
    select
        counted.council,
        counted.period,
        counted.total as complaints,
        {{ decided() }} as decided,
        {{ fault_found() }} as fault_found,
        {{ safe_divide(fault_found(), decided()) }} as fault_found_rate,
        context.residents,
        {{ per_10k_residents('counted.total', 'context.residents') }} as complaints_per_10k_residents,
        {{ per_10k_residents(fault_found(), 'context.residents') }} as fault_found_per_10k_residents
    from counted
    left join context
        on counted.council = context.council and counted.period = context.period
)

select * from final
