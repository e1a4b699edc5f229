with source as (
    select * from {{ source('raw', 'causes') }}
),

final as (
    select
        trim(extract_id) as extract_id,
        cast(line as integer) as source_line,
        trim(department) as department,
        nullif(trim(directorate), '') as directorate,
        trim(service_area) as service_area,
        cast(ordinal as integer) as cause_ordinal,
        trim(cause_label) as cause_label,
        {{ normalise_name('cause_label') }} as cause_label_normalised,
        cast(instances as bigint) as instances,
        cast(unresolved_section as integer) as unresolved_section
    from source
)

select * from final
