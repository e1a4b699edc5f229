{% test unique_combination(model, combination_of_columns) %}
{#- Primary-key test: no two rows share the same values of these columns (NULLs compare equal). -#}
with grouped as (
    select
        {{ combination_of_columns | join(', ') }},
        count(*) as n_rows
    from {{ model }}
    group by {{ combination_of_columns | join(', ') }}
)

select * from grouped where n_rows > 1
{% endtest %}
