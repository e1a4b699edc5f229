with outcomes as (
    select * from {{ ref('fct_complaint_outcomes') }}
),

by_department as (
    select
        period,
        council,
        department,
        service_family,
        extract_id,
        {%- for outcome in outcome_columns() %}
        cast(coalesce(sum(outcome_count) filter (where outcome = '{{ outcome }}'), 0) as bigint) as {{ outcome }},
        {%- endfor %}
        cast(coalesce(sum(outcome_count), 0) as bigint) as total
    from outcomes
    group by all
),

final as (
    select
        period,
        council,
        department,
        service_family,
        withdrawn,
        not_upheld,
        partly_upheld,
        rejected,
        upheld,
        total,
        upheld + partly_upheld + not_upheld as decided,
        {{ safe_divide('upheld + partly_upheld', 'upheld + partly_upheld + not_upheld') }} as fault_found_rate,
        {{ safe_divide('upheld', 'upheld + partly_upheld + not_upheld') }} as uphold_rate,
        {{ safe_divide('total', 'sum(total) over council_period') }} as share_of_total,
        cast(rank() over (partition by council, period order by total desc) as bigint) as rank_by_total,
        extract_id
    from by_department
    window council_period as (partition by council, period)
)

select * from final
