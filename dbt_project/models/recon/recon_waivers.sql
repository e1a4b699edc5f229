-- Every reviewed waiver and whether it applies (macros/waivers.sql) to a control total that does
-- not hold, so stale waivers are visible.
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
    select distinct {{ waiver_key() | join(', ') }}
    from control_totals
    where parser_status <> {{ status('ok') }}
),

recon_failures as (
    select distinct {{ waiver_key() | join(', ') }}
    from (
        select {{ waiver_key() | join(', ') }}, status from recon_outcomes
        union all
        select {{ waiver_key() | join(', ') }}, status from recon_instances
    ) as recon_rows
    where status <> {{ status('ok') }}
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
        on {{ waiver_applies('parser_failures', 'waivers') }}
    left join recon_failures
        on {{ waiver_applies('recon_failures', 'waivers') }}
)

select * from final
