with outcome_rows as (
    select * from {{ ref('stg_raw__outcome_rows') }}
),

issue_types as (
    select
        issue_type,
        min(issue_type_normalised) as issue_type_normalised
    from outcome_rows
    group by issue_type
),

final as (
    select
        {{ surrogate_key(['issue_type']) }} as issue_type_key,
        issue_type,
        issue_type_normalised,
        -- The text before the first ' - ' (e.g. 'Council Tax' in 'Council Tax - Banding').
        trim(split_part(issue_type_normalised, ' - ', 1)) as issue_group
    from issue_types
)

select * from final
