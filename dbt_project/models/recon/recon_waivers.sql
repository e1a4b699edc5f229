-- Every reviewed waiver and whether it matches (exactly: extract_id, level, scope, measure,
-- stated, computed) a control total that does not hold, so stale waivers are visible.
with waivers as (
    select * from {{ ref('stg_raw__waivers') }}
),

control_totals as (
    select * from {{ ref('int_control_totals__waived') }}
),

recon_outcomes as (
    select * from {{ ref('recon_outcome_totals') }}
),

recon_instances as (
    select * from {{ ref('recon_instance_totals') }}
),

parser_failures as (
    select distinct extract_id, level, scope, measure, stated, computed
    from control_totals
    where parser_status <> 'ok'
),

recon_failures as (
    select distinct extract_id, level, scope, measure, stated, computed
    from (
        select * from recon_outcomes
        union all by name
        select * from recon_instances
    )
    where status <> 'ok'
),

final as (
    select
        waivers.waiver_id,
        waivers.extract_id,
        waivers.level,
        waivers.scope,
        waivers.measure,
        waivers.stated,
        waivers.computed,
        waivers.reason,
        waivers.reviewed_by,
        waivers.reviewed_on,
        parser_failures.extract_id is not null as matched_control_total,
        recon_failures.extract_id is not null as matched_recon,
        parser_failures.extract_id is not null or recon_failures.extract_id is not null as matched
    from waivers
    left join parser_failures
        on waivers.extract_id = parser_failures.extract_id
        and waivers.level = parser_failures.level
        and waivers.scope = parser_failures.scope
        and waivers.measure = parser_failures.measure
        and waivers.stated = parser_failures.stated
        and waivers.computed = parser_failures.computed
    left join recon_failures
        on waivers.extract_id = recon_failures.extract_id
        and waivers.level = recon_failures.level
        and waivers.scope = recon_failures.scope
        and waivers.measure = recon_failures.measure
        and waivers.stated = recon_failures.stated
        and waivers.computed = recon_failures.computed
)

select * from final
