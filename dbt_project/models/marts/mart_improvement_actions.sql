with actions as (
    select * from {{ ref('int_actions__conformed') }}
),

final as (
    select
        period,
        council,
        department,
        directorate,
        department_inferred,
        service_family,
        service_heading,
        action_ordinal,
        action_text,
        extract_id,
        source_line
    from actions
)

select * from final
