-- The parser's control totals with reviewed waivers applied (macros/waivers.sql: an exact match on
-- extract_id, level, scope, measure, stated and computed).
with extracts as (
    select * from {{ ref('stg_raw__extracts') }}
),

control_totals as (
    select * from {{ ref('stg_raw__control_totals') }}
),

waivers as (
    select * from {{ ref('int_waivers__grouped') }}
),

final as (
    select
        control_totals.extract_id,
        extracts.council,
        extracts.period,
        control_totals.level,
        control_totals.scope,
        control_totals.measure,
        control_totals.source_line,
        control_totals.stated,
        control_totals.computed,
        coalesce(control_totals.difference, control_totals.computed - control_totals.stated) as difference,
        control_totals.parser_status,
        waivers.waiver_ids is not null as waiver_matched,
        {{ reconciliation_status("control_totals.parser_status = " ~ status('ok'), 'waivers.waiver_ids') }} as status,
        case
            when control_totals.parser_status <> {{ status('ok') }} and waivers.waiver_ids is not null
                then concat_ws(' | ', control_totals.explanation, 'waived: ' || waivers.waiver_reason)
            else control_totals.explanation
        end as explanation,
        control_totals.explanation as parser_explanation,
        waivers.waiver_ids,
        waivers.waiver_reason,
        waivers.waiver_reviewed_by,
        waivers.waiver_reviewed_on
    from control_totals
    inner join extracts on control_totals.extract_id = extracts.extract_id
    left join waivers
        on {{ waiver_applies('control_totals', 'waivers') }}
)

select * from final
