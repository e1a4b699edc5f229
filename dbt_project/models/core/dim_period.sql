-- One row per reporting period (UK financial year, 1 April to 31 March), e.g. '2019/20'.
with extracts as (
    select * from {{ ref('stg_raw__extracts') }}
),

periods as (
    select distinct period from extracts
),

parsed as (
    select
        period,
        {{ leading_year('period') }} as fiscal_year_start
    from periods
),

final as (
    select
        period,
        fiscal_year_start,
        fiscal_year_start + 1 as fiscal_year_end,
        make_date(fiscal_year_start, 4, 1) as start_date,
        make_date(fiscal_year_start + 1, 3, 31) as end_date,
        'Financial year ' || period as period_label
    from parsed
)

select * from final
