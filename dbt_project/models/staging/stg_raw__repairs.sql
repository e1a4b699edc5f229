with source as (
    select * from {{ source('raw', 'repairs') }}
),

final as (
    select
        trim(extract_id) as extract_id,
        cast(line as integer) as source_line,
        trim(kind) as repair_kind,
        raw_text,
        before as value_before,
        after as value_after,
        reason
    from source
)

select * from final
