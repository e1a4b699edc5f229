with departments as (
    select * from {{ ref('int_departments__conformed') }}
),

final as (
    select
        department_key,
        council,
        department,
        department_normalised,
        directorate,
        directorate_normalised,
        department_inferred,
        service_family,
        first_period,
        last_period,
        extract_count,
        unresolved_extract_id,
        unresolved_section
    from departments
)

select * from final
