{% test expression_is_true(model, expression) %}
{#- Rows for which the expression does not hold (dbt_utils' test of the same name; no `dbt deps` here). -#}
select * from {{ model }} where not ({{ expression }})
{% endtest %}
