{#- The few constructs DuckDB and PostgreSQL spell differently, behind adapter.dispatch (the
    dbt-utils pattern): `default__` is what DuckDB runs, `postgres__` the server's spelling. The
    models call these and nothing adapter-specific. -#}

{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'complaints')()) }}
{%- endmacro %}

{% macro default__type_double() -%}
    {{ return('double') }}
{%- endmacro %}

{% macro postgres__type_double() -%}
    {{ return('double precision') }}
{%- endmacro %}


{% macro leading_year(expr) -%}
    {#- The integer of the four digits `expr` starts with ('2019/20' -> 2019); NULL otherwise. -#}
    {{ return(adapter.dispatch('leading_year', 'complaints')(expr)) }}
{%- endmacro %}

{% macro default__leading_year(expr) -%}
    try_cast(regexp_extract({{ expr }}, '^(\d{4})', 1) as integer)
{%- endmacro %}

{% macro postgres__leading_year(expr) -%}
    {#- substring(... from pattern) is NULL without a match; four digits always cast. -#}
    cast(substring({{ expr }} from '^(\d{4})') as integer)
{%- endmacro %}
