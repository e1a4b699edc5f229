with source as (
    select * from {{ source('raw', 'subtotals') }}
),

final as (
    select
        trim(extract_id) as extract_id,
        cast(line as integer) as source_line,
        trim(level) as level,
        nullif(trim(department), '') as department,
        nullif(trim(root_cause), '') as root_cause,
        cast(withdrawn as bigint) as withdrawn,
        cast(not_upheld as bigint) as not_upheld,
        cast(partly_upheld as bigint) as partly_upheld,
        cast(rejected as bigint) as rejected,
        cast(upheld as bigint) as upheld,
        cast(total as bigint) as total
    from source
)

select * from final
