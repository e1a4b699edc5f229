-- The five Appendix 1 outcomes, in source column order.
with outcomes as (
    select * from (
        values
            ('withdrawn', 'Withdrawn', 1),
            ('not_upheld', 'Not upheld', 2),
            ('partly_upheld', 'Partly upheld', 3),
            ('rejected', 'Rejected', 4),
            ('upheld', 'Upheld', 5)
    ) as v (outcome, outcome_label, sort_order)
),

final as (
    select
        outcome,
        outcome_label,
        cast(sort_order as integer) as sort_order,
        outcome not in ('withdrawn', 'rejected') as is_decided,
        outcome in ('upheld', 'partly_upheld') as is_fault_found
    from outcomes
)

select * from final
