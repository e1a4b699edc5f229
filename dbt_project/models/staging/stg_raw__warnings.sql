with source as (
    select * from {{ source('raw', 'warnings') }}
),

final as (
    select
        trim(extract_id) as extract_id,
        cast(line as integer) as source_line,
        message
    from source
)

select * from final
