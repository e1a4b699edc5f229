with source as (
    select * from {{ source('raw', 'waivers') }}
),

final as (
    select
        trim(waiver_id) as waiver_id,
        trim(extract_id) as extract_id,
        trim(level) as level,
        scope,
        trim(measure) as measure,
        cast(stated as bigint) as stated,
        cast(computed as bigint) as computed,
        trim(reason) as reason,
        trim(reviewed_by) as reviewed_by,
        cast(reviewed_on as date) as reviewed_on
    from source
)

select * from final
