{% macro normalise_name(expr) -%}
    {#- Display-normalised name: en/em/figure dashes and the minus sign -> '-', curly quotes ->
        straight, runs of whitespace -> one space, trimmed. Case is kept. -#}
    nullif(trim(regexp_replace(
        regexp_replace(
            regexp_replace({{ expr }}, '[‐‑‒–—―−]', '-', 'g'),
            '[‘’‛′]', '''', 'g'),
        '\s+', ' ', 'g')), '')
{%- endmacro %}

{% macro match_key(expr) -%}
    {#- Key used to match names against the taxonomy seeds: normalise_name, lower-cased. -#}
    lower({{ normalise_name(expr) }})
{%- endmacro %}

{% macro surrogate_key(fields) -%}
    {#- md5 of the fields joined by '|', NULL written as an empty string (dbt_utils style). -#}
    md5(concat_ws('|'{%- for f in fields %}, coalesce(cast({{ f }} as varchar), ''){%- endfor %}))
{%- endmacro %}


{% macro unpivot(relation, keep, columns, name_column, value_column) -%}
    {#- Long form of `columns`: one row per input row and column, `keep` columns repeated. Written
        as UNION ALL rather than DuckDB's UNPIVOT: portable, and column lineage can follow it. -#}
    {%- for column in columns %}
    select
        {%- for kept in keep %}
        {{ kept }},
        {%- endfor %}
        {{ sql_string(column) }} as {{ name_column }},
        {{ column }} as {{ value_column }}
    from {{ relation }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
{%- endmacro %}
