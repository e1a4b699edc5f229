with source as (
    select * from {{ source('raw', 'extracts') }}
),

final as (
    select
        trim(extract_id) as extract_id,
        trim(council) as council,
        {{ normalise_name('council') }} as council_normalised,
        trim(period) as period,
        trim(kind) as kind,
        path as source_path,
        sha256 as source_sha256,
        source_url,
        trim(title) as title,
        trim(stated_period) as stated_period
    from source
)

select * from final
