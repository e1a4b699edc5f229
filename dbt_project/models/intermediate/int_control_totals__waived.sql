-- The parser's control totals with reviewed waivers applied by EXACT match on extract_id, level,
-- scope, measure, stated and computed.
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
        case
            when control_totals.parser_status = 'ok' then 'ok'
            when waivers.waiver_ids is not null then 'waived'
            else 'failed'
        end as status,
        case
            when control_totals.parser_status <> 'ok' and waivers.waiver_ids is not null
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
        on control_totals.extract_id = waivers.extract_id
        and control_totals.level = waivers.level
        and control_totals.scope = waivers.scope
        and control_totals.measure = waivers.measure
        and control_totals.stated = waivers.stated
        and control_totals.computed = waivers.computed
)

select * from final
