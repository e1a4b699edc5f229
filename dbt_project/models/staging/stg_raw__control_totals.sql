with source as (
    select * from {{ source('raw', 'control_totals') }}
),

final as (
    select
        trim(extract_id) as extract_id,
        trim(level) as level,
        scope,
        trim(measure) as measure,
        cast(line as integer) as source_line,
        cast(stated as bigint) as stated,
        cast(computed as bigint) as computed,
        cast(difference as bigint) as difference,
        trim(status) as parser_status,
        nullif(trim(explanation), '') as explanation
    from source
)

select * from final
