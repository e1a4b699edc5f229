-- Appendix C totals recomputed from fct_complaint_instances:
--   heading:             stated_instances vs the instances under its department + directorate
--   service_area:        stated instances vs its own causes plus its nested sub-groups
--                        (only service areas that list causes or have sub-groups)
--   service_area_upheld: upheld_or_partly_upheld must not exceed the service area's instances
with headings as (
    select * from {{ ref('stg_raw__headings') }}
),

service_areas as (
    select * from {{ ref('dim_service_area') }}
),

instances as (
    select * from {{ ref('fct_complaint_instances') }}
),

waivers as (
    select * from {{ ref('int_waivers__grouped') }}
),

by_heading as (
    select extract_id, department, directorate, sum(instances) as computed
    from instances
    group by extract_id, department, directorate
),

by_service_area as (
    select service_area_key, sum(instances) as cause_instances
    from instances
    where is_cause_stated
    group by service_area_key
),

by_parent as (
    select parent_service_area_key, sum(instances) as sub_group_instances
    from service_areas
    where parent_service_area_key is not null
    group by parent_service_area_key
),

heading_checks as (
    select
        headings.extract_id,
        {{ level('heading') }} as level,
        headings.heading_text as scope,
        {{ measure('instances') }} as measure,
        headings.source_line,
        headings.stated_instances as stated,
        coalesce(by_heading.computed, 0) as computed,
        headings.stated_instances = coalesce(by_heading.computed, 0) as passes
    from headings
    left join by_heading
        on headings.extract_id = by_heading.extract_id
        and headings.department = by_heading.department
        and headings.directorate is not distinct from by_heading.directorate
),

service_area_checks as (
    select
        service_areas.extract_id,
        {{ level('service_area') }} as level,
        {{ scope_service_area('service_areas.department', 'service_areas.directorate', 'service_areas.service_area') }} as scope,
        {{ measure('instances') }} as measure,
        service_areas.source_line,
        service_areas.instances as stated,
        coalesce(by_service_area.cause_instances, 0) + coalesce(by_parent.sub_group_instances, 0) as computed,
        service_areas.instances
            = coalesce(by_service_area.cause_instances, 0) + coalesce(by_parent.sub_group_instances, 0) as passes
    from service_areas
    left join by_service_area on service_areas.service_area_key = by_service_area.service_area_key
    left join by_parent on service_areas.service_area_key = by_parent.parent_service_area_key
    where by_service_area.service_area_key is not null
        or by_parent.parent_service_area_key is not null
),

upheld_checks as (
    select
        extract_id,
        {{ level('service_area_upheld') }} as level,
        {{ scope_service_area('department', 'directorate', 'service_area') }} as scope,
        {{ measure('upheld_or_partly_upheld_within_instances') }} as measure,
        source_line,
        upheld_or_partly_upheld as stated,
        instances as computed,
        upheld_or_partly_upheld <= instances as passes
    from service_areas
    where upheld_or_partly_upheld is not null
),

checks as (
    select * from heading_checks
    union all
    select * from service_area_checks
    union all
    select * from upheld_checks
),

final as (
    select
        checks.extract_id,
        checks.level,
        checks.scope,
        checks.measure,
        checks.source_line,
        cast(checks.stated as bigint) as stated,
        cast(checks.computed as bigint) as computed,
        cast(checks.computed - checks.stated as bigint) as difference,
        not checks.passes and waivers.waiver_ids is not null as waived,
        {{ reconciliation_status('checks.passes', 'waivers.waiver_ids') }} as status,
        waivers.waiver_ids,
        waivers.waiver_reason
    from checks
    left join waivers
        on {{ waiver_applies('checks', 'waivers') }}
)

select * from final
