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

{% macro outcome_columns() -%}
    {{ return(['withdrawn', 'not_upheld', 'partly_upheld', 'rejected', 'upheld']) }}
{%- endmacro %}
