with source as (
    select * from {{ source('raw', 'outcome_rows') }}
),

final as (
    select
        trim(extract_id) as extract_id,
        cast(line as integer) as source_line,
        trim(department) as department,
        {{ normalise_name('department') }} as department_normalised,
        trim(root_cause) as root_cause,
        {{ normalise_name('root_cause') }} as root_cause_normalised,
        trim(issue_type) as issue_type,
        {{ normalise_name('issue_type') }} as issue_type_normalised,
        cast(ordinal as integer) as row_ordinal,
        {%- for name in outcome_columns() + ['total'] %}
        cast({{ name }} as bigint) as {{ name }}{{ ',' if not loop.last }}
        {%- endfor %}
    from source
)

select * from final
