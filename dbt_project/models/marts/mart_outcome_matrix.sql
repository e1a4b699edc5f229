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
        root_cause,
        root_cause_category,
        issue_type,
        withdrawn,
        not_upheld,
        partly_upheld,
        rejected,
        upheld,
        total,
        upheld + partly_upheld + not_upheld as decided,
        {{ safe_divide('upheld + partly_upheld', 'upheld + partly_upheld + not_upheld') }} as fault_found_rate,
        {{ safe_divide('upheld', 'upheld + partly_upheld + not_upheld') }} as uphold_rate,
        extract_id,
        source_line
    from pivoted
)

select * from final
