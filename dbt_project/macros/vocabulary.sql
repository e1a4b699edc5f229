{#- The shared vocabulary (ingest/vocabulary.py), read from the generated project var
    `complaints_vocabulary`. An unknown name is a compile error, so a renamed level or sentinel
    cannot leave a model comparing against a string nobody writes any more. -#}

{% macro vocab(name) -%}
    {%- set vocabulary = var('complaints_vocabulary') -%}
    {%- if name not in vocabulary -%}
        {{ exceptions.raise_compiler_error("unknown vocabulary entry '" ~ name ~ "' (ingest/vocabulary.py)") }}
    {%- endif -%}
    {{ return(vocabulary[name]) }}
{%- endmacro %}

{% macro sql_string(text) -%}
    '{{ text | replace("'", "''") }}'
{%- endmacro %}

{% macro term(name) -%}
    {#- A sentinel label or separator as a SQL string literal, e.g. term('not_stated_cause'). -#}
    {{ sql_string(vocab(name)) }}
{%- endmacro %}

{% macro _member(list_name, value) -%}
    {%- if value not in vocab(list_name) -%}
        {{ exceptions.raise_compiler_error("'" ~ value ~ "' is not in " ~ list_name ~ " (ingest/vocabulary.py)") }}
    {%- endif -%}
    {{ return(sql_string(value)) }}
{%- endmacro %}

{% macro level(name) -%}{{ _member('levels', name) }}{%- endmacro %}
{% macro measure(name) -%}{{ _member('measures', name) }}{%- endmacro %}
{% macro status(name) -%}{{ _member('statuses', name) }}{%- endmacro %}

{% macro outcome_columns() -%}
    {{ return(vocab('outcomes')) }}
{%- endmacro %}

{#- Control-total scopes, written exactly as the parser writes them (ingest/vocabulary.py). -#}

{% macro scope_unit(department, directorate) -%}
    concat_ws({{ term('unit_separator') }}, {{ department }}, {{ directorate }})
{%- endmacro %}

{% macro scope_service_area(department, directorate, service_area) -%}
    {{ scope_unit(department, directorate) }} || {{ term('scope_separator') }} || {{ service_area }}
{%- endmacro %}

{% macro scope_root_cause(department, root_cause) -%}
    {{ department }} || {{ term('scope_separator') }} || {{ root_cause }}
{%- endmacro %}
