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
        cast(withdrawn as bigint) as withdrawn,
        cast(not_upheld as bigint) as not_upheld,
        cast(partly_upheld as bigint) as partly_upheld,
        cast(rejected as bigint) as rejected,
        cast(upheld as bigint) as upheld,
        cast(total as bigint) as total
    from source
)

select * from final
