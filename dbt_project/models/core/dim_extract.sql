with extracts as (
    select * from {{ ref('stg_raw__extracts') }}
),

final as (
    select
        extract_id,
        council,
        period,
        kind,
        source_path,
        source_sha256,
        source_url,
        title,
        stated_period
    from extracts
)

select * from final
