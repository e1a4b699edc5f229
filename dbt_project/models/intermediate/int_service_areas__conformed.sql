-- Appendix C service areas with council, period, department key and the instances their own
-- cause lists and nested sub-groups account for. A service area is named once per department
-- (the parser refuses a repeat), and a section whose department is unresolved is a department of
-- its own (unresolved_section), so the keys below are unique.
with extracts as (
    select * from {{ ref('stg_raw__extracts') }}
),

service_areas as (
    select * from {{ ref('stg_raw__service_areas') }}
),

causes as (
    select * from {{ ref('stg_raw__causes') }}
),

departments as (
    select * from {{ ref('int_departments__conformed') }}
),

own_causes as (
    select
        extract_id,
        department,
        directorate,
        unresolved_section,
        service_area,
        count(*) as cause_count,
        cast(sum(instances) as bigint) as cause_instances
    from causes
    group by 1, 2, 3, 4, 5
),

sub_groups as (
    select
        extract_id,
        department,
        directorate,
        unresolved_section,
        parent_service_area as service_area,
        count(*) as sub_group_count,
        cast(sum(instances) as bigint) as sub_group_instances
    from service_areas
    where parent_service_area is not null
    group by 1, 2, 3, 4, 5
),

final as (
    select
        {{ service_area_key('service_areas.extract_id', 'service_areas.department', 'service_areas.directorate', 'service_areas.service_area', 'service_areas.unresolved_section') }} as service_area_key,
        case when service_areas.parent_service_area is not null then
            {{ service_area_key('service_areas.extract_id', 'service_areas.department', 'service_areas.directorate', 'service_areas.parent_service_area', 'service_areas.unresolved_section') }}
        end as parent_service_area_key,
        service_areas.extract_id,
        extracts.council,
        extracts.period,
        departments.department_key,
        service_areas.source_line,
        service_areas.section,
        service_areas.department,
        service_areas.directorate,
        service_areas.department_inferred,
        departments.service_family,
        service_areas.service_area,
        service_areas.service_area_normalised,
        service_areas.parent_service_area,
        service_areas.parent_service_area is not null as is_sub_group,
        service_areas.instances,
        service_areas.upheld_or_partly_upheld,
        service_areas.upheld_basis,
        coalesce(own_causes.cause_count, 0) as cause_count,
        coalesce(own_causes.cause_instances, 0) as cause_instances,
        coalesce(sub_groups.sub_group_count, 0) as sub_group_count,
        coalesce(sub_groups.sub_group_instances, 0) as sub_group_instances,
        service_areas.unresolved_section
    from service_areas
    inner join extracts on service_areas.extract_id = extracts.extract_id
    left join departments
        on extracts.council = departments.council
        and service_areas.department_normalised = departments.department_normalised
        and service_areas.directorate_normalised is not distinct from departments.directorate_normalised
        and service_areas.unresolved_section is not distinct from departments.unresolved_section
        and (service_areas.unresolved_section is null or service_areas.extract_id = departments.unresolved_extract_id)
    left join own_causes
        on service_areas.extract_id = own_causes.extract_id
        and service_areas.department = own_causes.department
        and service_areas.directorate is not distinct from own_causes.directorate
        and service_areas.unresolved_section is not distinct from own_causes.unresolved_section
        and service_areas.service_area = own_causes.service_area
    left join sub_groups
        on service_areas.extract_id = sub_groups.extract_id
        and service_areas.department = sub_groups.department
        and service_areas.directorate is not distinct from sub_groups.directorate
        and service_areas.unresolved_section is not distinct from sub_groups.unresolved_section
        and service_areas.service_area = sub_groups.service_area
)

select * from final
