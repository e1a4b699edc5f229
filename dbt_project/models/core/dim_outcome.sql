-- The five Appendix 1 outcomes, in source column order (the shared vocabulary,
-- ingest/vocabulary.py: names, labels, which are decisions and which find fault).
{%- set names = vocab('outcomes') %}
{%- set labels = vocab('outcome_labels') %}
with outcomes as (
    select * from (
        values
        {%- for name in names %}
            ({{ sql_string(name) }}, {{ sql_string(labels[loop.index0]) }}, {{ loop.index }}){{ ',' if not loop.last }}
        {%- endfor %}
    ) as v (outcome, outcome_label, sort_order)
),

final as (
    select
        outcome,
        outcome_label,
        cast(sort_order as integer) as sort_order,
        outcome in ({% for o in vocab('decided_outcomes') %}{{ sql_string(o) }}{{ ', ' if not loop.last }}{% endfor %}) as is_decided,
        outcome in ({% for o in vocab('fault_found_outcomes') %}{{ sql_string(o) }}{{ ', ' if not loop.last }}{% endfor %}) as is_fault_found
    from outcomes
)

select * from final
