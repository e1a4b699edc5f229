with source as (
    select * from {{ source('raw', 'unverified_numbers') }}
),

final as (
    select
        trim(extract_id) as extract_id,
        trim(kind) as level,
        cast(line as integer) as source_line,
        scope,
        cast(value as bigint) as stated_value,
        trim(verification) as verification,
        reason
    from source
)

select * from final
