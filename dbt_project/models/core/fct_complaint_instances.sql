-- Grain: extract x service area x cause. A service area with no cause list has one
-- '(not stated)' row, so the rows add up to each service area and each heading.
with instances as (
    select * from {{ ref('int_instances__completed') }}
),

final as (
    select
        instance_key,
        extract_id,
        council,
        period,
        source_line,
        department_key,
        service_area_key,
        root_cause_key,
        department,
        directorate,
        service_family,
        service_area,
        parent_service_area,
        cause_ordinal,
        cause_label,
        root_cause_category,
        is_cause_stated,
        instances,
        unresolved_section
    from instances
)

select * from final
