with service_areas as (
    select * from {{ ref('dim_service_area') }}
),

final as (
    select
        period,
        council,
        department,
        directorate,
        department_inferred,
        service_family,
        service_area,
        parent_service_area,
        instances,
        upheld_or_partly_upheld,
        upheld_basis,
        {{ safe_divide('upheld_or_partly_upheld', 'instances') }} as upheld_or_partly_rate,
        extract_id,
        source_line,
        unresolved_section
    from service_areas
)

select * from final
