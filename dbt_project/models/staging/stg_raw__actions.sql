with source as (
    select * from {{ source('raw', 'actions') }}
),

final as (
    select
        trim(extract_id) as extract_id,
        cast(line as integer) as source_line,
        trim(department) as department,
        {{ normalise_name('department') }} as department_normalised,
        nullif(trim(directorate), '') as directorate,
        coalesce(department_inferred, false) as department_inferred,
        nullif(trim(service_heading), '') as service_heading,
        {{ normalise_name('service_heading') }} as service_heading_normalised,
        cast(ordinal as integer) as action_ordinal,
        trim(action_text) as action_text,
        cast(unresolved_section as integer) as unresolved_section
    from source
)

select * from final
