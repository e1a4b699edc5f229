with numbers as (
    select * from {{ ref('stg_raw__unverified_numbers') }}
),

extracts as (
    select * from {{ ref('dim_extract') }}
),

final as (
    select
        numbers.extract_id,
        extracts.council,
        extracts.period,
        numbers.level,
        numbers.source_line,
        numbers.scope,
        numbers.stated_value,
        numbers.verification,
        numbers.reason
    from numbers
    inner join extracts on numbers.extract_id = extracts.extract_id
)

select * from final
