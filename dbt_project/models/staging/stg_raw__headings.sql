with source as (
    select * from {{ source('raw', 'headings') }}
),

final as (
    select
        trim(extract_id) as extract_id,
        cast(line as integer) as source_line,
        trim(heading_text) as heading_text,
        {{ normalise_name('heading_text') }} as heading_text_normalised,
        trim(department) as department,
        {{ normalise_name('department') }} as department_normalised,
        nullif(trim(directorate), '') as directorate,
        {{ normalise_name('directorate') }} as directorate_normalised,
        cast(stated_instances as bigint) as stated_instances
    from source
)

select * from final
