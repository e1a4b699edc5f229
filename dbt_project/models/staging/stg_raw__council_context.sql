with source as (
    select * from {{ source('raw', 'council_context') }}
),

final as (
    select
        trim(council) as council,
        trim(period) as period,
        cast(residents as bigint) as residents,
        source_path,
        cast(source_line as bigint) as source_line
    from source
)

select * from final
