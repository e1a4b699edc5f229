with source as (
    select * from {{ source('raw', 'coverage') }}
),

final as (
    select
        trim(extract_id) as extract_id,
        trim(kind) as level,
        cast(stated as bigint) as numbers_stated,
        cast(verified as bigint) as numbers_verified,
        cast(bounded as bigint) as numbers_bounded,
        cast(unverified as bigint) as numbers_unverified
    from source
)

select * from final
