-- Appendix 1 issue-type rows in long form: one row per row x outcome (all five, zeros included).
with extracts as (
    select * from {{ ref('stg_raw__extracts') }}
),

outcome_rows as (
    select * from {{ ref('stg_raw__outcome_rows') }}
),

departments as (
    select * from {{ ref('int_departments__conformed') }}
),

labels as (
    select * from {{ ref('int_cause_labels__categorised') }}
),

unpivoted as (
    {{ unpivot(
        'outcome_rows',
        ['extract_id', 'source_line', 'row_ordinal', 'department', 'department_normalised',
         'root_cause', 'issue_type', 'total'],
        outcome_columns(), 'outcome', 'outcome_count'
    ) }}
),

final as (
    select
        unpivoted.extract_id,
        extracts.council,
        extracts.period,
        unpivoted.source_line,
        unpivoted.row_ordinal,
        departments.department_key,
        labels.root_cause_key,
        {{ surrogate_key(['unpivoted.issue_type']) }} as issue_type_key,
        unpivoted.department,
        departments.service_family,
        unpivoted.root_cause,
        labels.root_cause_category,
        unpivoted.issue_type,
        unpivoted.outcome,
        coalesce(unpivoted.outcome_count, 0) as outcome_count,
        unpivoted.total as row_total_stated
    from unpivoted
    inner join extracts on unpivoted.extract_id = extracts.extract_id
    left join departments
        on extracts.council = departments.council
        and unpivoted.department_normalised = departments.department_normalised
        and departments.directorate_normalised is null
    left join labels on unpivoted.root_cause = labels.cause_label
)

select * from final
