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
        {{ outcome_counts('outcome', 'outcome_count') }}
    from outcomes
    group by 1, 2, 3, 4, 5
),

final as (
    select
        period,
        council,
        department,
        service_family,
        {%- for name in outcome_columns() %}
        {{ name }},
        {%- endfor %}
        total,
        {{ outcome_metrics() }},
        {{ safe_divide('total', 'sum(total) over council_period') }} as share_of_total,
        cast(rank() over (partition by council, period order by total desc) as bigint) as rank_by_total,
        extract_id
    from by_department
    window council_period as (partition by council, period)
)

select * from final
