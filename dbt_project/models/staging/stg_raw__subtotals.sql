with source as (
    select * from {{ source('raw', 'subtotals') }}
),

final as (
    select
        trim(extract_id) as extract_id,
        cast(line as integer) as source_line,
        trim(level) as level,
        nullif(trim(department), '') as department,
        nullif(trim(root_cause), '') as root_cause,
        {%- for name in outcome_columns() + ['total'] %}
        cast({{ name }} as bigint) as {{ name }}{{ ',' if not loop.last }}
        {%- endfor %}
    from source
)

select * from final
