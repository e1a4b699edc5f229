with instances as (
    select * from {{ ref('fct_complaint_instances') }}
),

by_cause as (
    select
        period,
        council,
        department,
        directorate,
        service_area,
        parent_service_area,
        cause_label,
        root_cause_category,
        is_cause_stated,
        extract_id,
        unresolved_section,
        min(source_line) as source_line,
        cast(sum(instances) as bigint) as instances
    from instances
    group by 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
),

final as (
    select
        period,
        council,
        department,
        directorate,
        service_area,
        parent_service_area,
        cause_label,
        root_cause_category,
        is_cause_stated,
        instances,
        cast(sum(instances) over service_rows as bigint) as service_instances,
        {{ safe_divide('instances', 'sum(instances) over service_rows') }} as share_of_service,
        extract_id,
        source_line,
        unresolved_section
    from by_cause
    window service_rows as (partition by extract_id, department, directorate, unresolved_section, service_area)
)

select * from final
