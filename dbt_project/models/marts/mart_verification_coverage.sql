with coverage as (
    select * from {{ ref('stg_raw__coverage') }}
),

extracts as (
    select * from {{ ref('dim_extract') }}
),

final as (
    select
        coverage.extract_id,
        extracts.council,
        extracts.period,
        extracts.kind,
        coverage.level,
        coverage.numbers_stated,
        coverage.numbers_verified,
        coverage.numbers_bounded,
        coverage.numbers_unverified,
        coverage.numbers_bounded + coverage.numbers_unverified as numbers_not_verified,
        {{ safe_divide('coverage.numbers_verified', 'coverage.numbers_stated') }} as verified_share
    from coverage
    inner join extracts on coverage.extract_id = extracts.extract_id
)

select * from final
