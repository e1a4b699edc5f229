{% test not_null_columns(model, columns) %}
{#- Every not-null rule of one model in one test node: dbt's per-node cost was larger than the
    queries (one node per column made up most of a build). Each failing row names the column it
    breaks (failing_column) and carries the whole row; the rows are stored (dbt's log names the
    table), so a failure still says which rule failed and where. -#}
{{ config(store_failures=true) }}
{%- for column in columns %}
select '{{ column }}' as failing_column, *
from {{ model }}
where {{ column }} is null
{%- if not loop.last %}
union all
{%- endif %}
{%- endfor %}
{% endtest %}
