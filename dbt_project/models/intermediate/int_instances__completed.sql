-- Every cause of every service area, plus one '(not stated)' row for a service area that states
-- no cause list (its instances less those of its nested sub-groups), so that the rows add up to
-- each service area and to each heading.
with service_areas as (
    select * from {{ ref('int_service_areas__conformed') }}
),

causes as (
    select * from {{ ref('int_causes__categorised') }}
),

labels as (
    select * from {{ ref('int_cause_labels__categorised') }}
),

stated_causes as (
    select
        causes.service_area_key,
        causes.source_line,
        causes.cause_ordinal,
        causes.cause_label,
        causes.root_cause_key,
        causes.root_cause_category,
        true as is_cause_stated,
        causes.instances
    from causes
),

not_stated as (
    select
        service_areas.service_area_key,
        service_areas.source_line,
        cast(null as integer) as cause_ordinal,
        labels.cause_label,
        labels.root_cause_key,
        labels.root_cause_category,
        false as is_cause_stated,
        service_areas.instances - service_areas.sub_group_instances as instances
    from service_areas
    inner join labels on labels.cause_label = {{ term('not_stated_cause') }}
    where service_areas.cause_count = 0
        and (service_areas.sub_group_count = 0 or service_areas.instances <> service_areas.sub_group_instances)
),

unioned as (
    select * from stated_causes
    union all
    select * from not_stated
),

final as (
    select
        {{ surrogate_key(['service_areas.extract_id', 'unioned.service_area_key', "coalesce(cast(unioned.cause_ordinal as varchar), " ~ term('not_stated_cause') ~ ")"]) }} as instance_key,
        service_areas.extract_id,
        service_areas.council,
        service_areas.period,
        unioned.source_line,
        service_areas.department_key,
        unioned.service_area_key,
        unioned.root_cause_key,
        service_areas.department,
        service_areas.directorate,
        service_areas.service_family,
        service_areas.service_area,
        service_areas.parent_service_area,
        unioned.cause_ordinal,
        unioned.cause_label,
        unioned.root_cause_category,
        unioned.is_cause_stated,
        unioned.instances,
        service_areas.unresolved_section
    from unioned
    inner join service_areas on unioned.service_area_key = service_areas.service_area_key
)

select * from final
