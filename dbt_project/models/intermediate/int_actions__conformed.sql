-- Improvement actions with council, period and the conformed department.
with extracts as (
    select * from {{ ref('stg_raw__extracts') }}
),

actions as (
    select * from {{ ref('stg_raw__actions') }}
),

departments as (
    select * from {{ ref('int_departments__conformed') }}
),

final as (
    select
        actions.extract_id,
        extracts.council,
        extracts.period,
        actions.source_line,
        actions.action_ordinal,
        departments.department_key,
        actions.department,
        actions.directorate,
        actions.department_inferred,
        departments.service_family,
        actions.service_heading,
        actions.action_text,
        actions.unresolved_section
    from actions
    inner join extracts on actions.extract_id = extracts.extract_id
    left join departments
        on extracts.council = departments.council
        and actions.department_normalised = departments.department_normalised
        and {{ normalise_name('actions.directorate') }} is not distinct from departments.directorate_normalised
        and actions.unresolved_section is not distinct from departments.unresolved_section
        and (actions.unresolved_section is null or actions.extract_id = departments.unresolved_extract_id)
)

select * from final
