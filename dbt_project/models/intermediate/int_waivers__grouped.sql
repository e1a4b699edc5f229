-- Reviewed waivers grouped on their exact match key (extract_id, level, scope, measure, stated,
-- computed), so applying them never duplicates a control total.
with waivers as (
    select * from {{ ref('stg_raw__waivers') }}
),

final as (
    select
        {{ waiver_key() | join(',\n        ') }},
        string_agg(waiver_id, ', ' order by waiver_id) as waiver_ids,
        string_agg(distinct reason, '; ' order by reason) as waiver_reason,
        string_agg(distinct reviewed_by, ', ' order by reviewed_by) as waiver_reviewed_by,
        max(reviewed_on) as waiver_reviewed_on
    from waivers
    group by {{ waiver_key() | join(', ') }}
)

select * from final
