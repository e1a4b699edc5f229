with outcomes as (
    select * from {{ ref('fct_complaint_outcomes') }}
),

pivoted as (
    select
        period,
        council,
        department,
        service_family,
        root_cause,
        root_cause_category,
        issue_type,
        extract_id,
        min(source_line) as source_line,
        {{ outcome_counts('outcome', 'outcome_count') }}
    from outcomes
    group by 1, 2, 3, 4, 5, 6, 7, 8
),

final as (
    select
        period,
        council,
        department,
        service_family,
        root_cause,
        root_cause_category,
        issue_type,
        {%- for name in outcome_columns() %}
        {{ name }},
        {%- endfor %}
        total,
        {{ outcome_metrics() }},
        extract_id,
        source_line
    from pivoted
)

select * from final
