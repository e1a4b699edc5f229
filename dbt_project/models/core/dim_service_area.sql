with service_areas as (
    select * from {{ ref('int_service_areas__conformed') }}
),

final as (
    select
        service_area_key,
        parent_service_area_key,
        extract_id,
        council,
        period,
        department_key,
        source_line,
        section,
        department,
        directorate,
        department_inferred,
        service_family,
        service_area,
        service_area_normalised,
        parent_service_area,
        is_sub_group,
        instances,
        upheld_or_partly_upheld,
        upheld_basis,
        cause_count,
        cause_instances,
        sub_group_count,
        sub_group_instances,
        unresolved_section
    from service_areas
)

select * from final
