-- Every stated Appendix 1 subtotal (root cause, department, grand total) x six measures,
-- recomputed from fct_complaint_outcomes.
with subtotals as (
    select * from {{ ref('stg_raw__subtotals') }}
),

outcomes as (
    select * from {{ ref('fct_complaint_outcomes') }}
),

waivers as (
    select * from {{ ref('int_waivers__grouped') }}
),

stated_long as (
    {{ unpivot(
        'subtotals',
        ['extract_id', 'level', 'department', 'root_cause', 'source_line'],
        outcome_columns() + ['total'], 'measure', 'stated'
    ) }}
),

stated as (
    select
        extract_id,
        level,
        case level
            when {{ level('root_cause') }} then {{ scope_root_cause('department', 'root_cause') }}
            when {{ level('department') }} then department
            when {{ level('grand_total') }} then {{ term('grand_total') }}
        end as scope,
        department,
        root_cause,
        source_line,
        measure,
        stated
    from stated_long
),

-- Each outcome row counted once under its own outcome and once under 'total'.
measures as (
    select extract_id, department, root_cause, outcome as measure, outcome_count from outcomes
    union all
    select extract_id, department, root_cause, {{ measure('total') }} as measure, outcome_count from outcomes
),

by_root_cause as (
    select extract_id, department, root_cause, measure, sum(outcome_count) as computed
    from measures
    group by extract_id, department, root_cause, measure
),

by_department as (
    select extract_id, department, measure, sum(outcome_count) as computed
    from measures
    group by extract_id, department, measure
),

by_extract as (
    select extract_id, measure, sum(outcome_count) as computed
    from measures
    group by extract_id, measure
),

compared as (
    select
        stated.extract_id,
        stated.level,
        stated.scope,
        stated.measure,
        stated.source_line,
        stated.stated,
        cast(coalesce(
            case stated.level
                when {{ level('root_cause') }} then by_root_cause.computed
                when {{ level('department') }} then by_department.computed
                when {{ level('grand_total') }} then by_extract.computed
            end, 0) as bigint) as computed
    from stated
    left join by_root_cause
        on stated.level = {{ level('root_cause') }}
        and stated.extract_id = by_root_cause.extract_id
        and stated.department = by_root_cause.department
        and stated.root_cause = by_root_cause.root_cause
        and stated.measure = by_root_cause.measure
    left join by_department
        on stated.level = {{ level('department') }}
        and stated.extract_id = by_department.extract_id
        and stated.department = by_department.department
        and stated.measure = by_department.measure
    left join by_extract
        on stated.level = {{ level('grand_total') }}
        and stated.extract_id = by_extract.extract_id
        and stated.measure = by_extract.measure
),

final as (
    select
        compared.extract_id,
        compared.level,
        compared.scope,
        compared.measure,
        compared.source_line,
        compared.stated,
        compared.computed,
        compared.computed - compared.stated as difference,
        compared.stated <> compared.computed and waivers.waiver_ids is not null as waived,
        {{ reconciliation_status('compared.stated = compared.computed', 'waivers.waiver_ids') }} as status,
        waivers.waiver_ids,
        waivers.waiver_reason
    from compared
    left join waivers
        on {{ waiver_applies('compared', 'waivers') }}
)

select * from final
