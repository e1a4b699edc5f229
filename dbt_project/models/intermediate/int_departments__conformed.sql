-- One row per council x department x directorate (names compared after dash/space normalisation),
-- from every raw table that names a department. Council is part of the key, so the same
-- department name in two councils never merges; an Appendix C section whose department is
-- unresolved ('Unknown') is a department of its own (its extract and first line), so two such
-- sections never merge either.
with extracts as (
    select * from {{ ref('stg_raw__extracts') }}
),

service_areas as (
    select * from {{ ref('stg_raw__service_areas') }}
),

headings as (
    select * from {{ ref('stg_raw__headings') }}
),

actions as (
    select * from {{ ref('stg_raw__actions') }}
),

outcome_rows as (
    select * from {{ ref('stg_raw__outcome_rows') }}
),

subtotals as (
    select * from {{ ref('stg_raw__subtotals') }}
),

families as (
    select * from {{ ref('department_families') }}
),

mentions as (
    select extract_id, department, directorate, department_inferred, unresolved_section from service_areas
    union all
    select extract_id, department, directorate, false, null from headings
    union all
    select extract_id, department, directorate, department_inferred, unresolved_section from actions
    union all
    select extract_id, department, null, false, null from outcome_rows
    union all
    select extract_id, department, null, false, null from subtotals where department is not null
),

normalised as (
    select
        extracts.council,
        extracts.period,
        mentions.extract_id,
        mentions.department,
        {{ normalise_name('mentions.department') }} as department_normalised,
        mentions.directorate,
        {{ normalise_name('mentions.directorate') }} as directorate_normalised,
        mentions.department_inferred,
        case when mentions.unresolved_section is not null then mentions.extract_id end as unresolved_extract_id,
        mentions.unresolved_section
    from mentions
    inner join extracts on mentions.extract_id = extracts.extract_id
),

departments as (
    select
        council,
        department_normalised,
        directorate_normalised,
        unresolved_extract_id,
        unresolved_section,
        min(department) as department,
        min(directorate) as directorate,
        bool_or(department_inferred) as department_inferred,
        min(period) as first_period,
        max(period) as last_period,
        count(distinct extract_id) as extract_count
    from normalised
    group by council, department_normalised, directorate_normalised, unresolved_extract_id, unresolved_section
),

-- Directorate beats department; a council-specific seed row beats a generic one.
family_candidates as (
    select distinct
        departments.council,
        departments.department_normalised,
        departments.directorate_normalised,
        families.service_family,
        (case when lower(departments.directorate_normalised) = families.name_normalised then 0 else 2 end)
        + (case when families.council is not null then 0 else 1 end) as priority
    from departments
    inner join families
        on families.name_normalised in (
            lower(departments.directorate_normalised), lower(departments.department_normalised)
        )
        and (families.council is null or families.council = departments.council)
),

ranked_families as (
    select
        *,
        row_number() over (
            partition by council, department_normalised, directorate_normalised
            order by priority, service_family
        ) as family_rank
    from family_candidates
),

best_family as (
    select * from ranked_families where family_rank = 1
),

final as (
    select
        {{ department_key('departments.council', 'departments.department_normalised', 'departments.directorate_normalised', 'departments.unresolved_extract_id', 'departments.unresolved_section') }} as department_key,
        departments.council,
        departments.department,
        departments.department_normalised,
        departments.directorate,
        departments.directorate_normalised,
        departments.department_inferred,
        coalesce(best_family.service_family, {{ term('unmapped_family') }}) as service_family,
        departments.first_period,
        departments.last_period,
        departments.extract_count,
        departments.unresolved_extract_id,
        departments.unresolved_section
    from departments
    left join best_family
        on departments.council = best_family.council
        and departments.department_normalised = best_family.department_normalised
        and departments.directorate_normalised is not distinct from best_family.directorate_normalised
)

select * from final
