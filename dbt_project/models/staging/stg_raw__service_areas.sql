with source as (
    select * from {{ source('raw', 'service_areas') }}
),

final as (
    select
        trim(extract_id) as extract_id,
        cast(line as integer) as source_line,
        cast(section as integer) as section,
        trim(department) as department,
        {{ normalise_name('department') }} as department_normalised,
        nullif(trim(directorate), '') as directorate,
        {{ normalise_name('directorate') }} as directorate_normalised,
        coalesce(department_inferred, false) as department_inferred,
        trim(service_area) as service_area,
        {{ normalise_name('service_area') }} as service_area_normalised,
        nullif(trim(parent_service_area), '') as parent_service_area,
        cast(instances as bigint) as instances,
        cast(upheld_or_partly_upheld as bigint) as upheld_or_partly_upheld,
        nullif(trim(upheld_basis), '') as upheld_basis,
        cast(unresolved_section as integer) as unresolved_section
    from source
)

select * from final
