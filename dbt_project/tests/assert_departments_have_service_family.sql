{{ config(severity='warn') }}
-- Departments / directorates missing from seeds/department_families.csv: service_family is
-- 'unmapped'. Add a row keyed on the normalised (lower-case) directorate or department name.
with departments as (
    select * from {{ ref('int_departments__conformed') }}
),

final as (
    select council, department, directorate, lower(department_normalised) as department_key_to_add,
        lower(directorate_normalised) as directorate_key_to_add
    from departments
    where service_family = {{ term('unmapped_family') }}
)

select * from final
