{#- The metric definitions (docs/CONTRACT.md, "Metrics"), written once for every mart:
      decided          = upheld + partly upheld + not upheld
      fault_found_rate = (upheld + partly upheld) / decided
      uphold_rate      = upheld / decided
    A rate whose denominator is 0 is NULL (safe_divide). Which outcomes are decided and which find
    fault comes from the shared vocabulary (ingest/vocabulary.py). -#}

{% macro outcome_counts(outcome, count) -%}
    {#- Long outcome rows -> one BIGINT column per outcome plus `total`, inside a GROUP BY. -#}
    {%- for name in outcome_columns() %}
    cast(coalesce(sum({{ count }}) filter (where {{ outcome }} = {{ sql_string(name) }}), 0) as bigint) as {{ name }},
    {%- endfor %}
    cast(coalesce(sum({{ count }}), 0) as bigint) as total
{%- endmacro %}

{% macro decided() -%}
    ({{ vocab('decided_outcomes') | join(' + ') }})
{%- endmacro %}

{% macro fault_found() -%}
    ({{ vocab('fault_found_outcomes') | join(' + ') }})
{%- endmacro %}

{% macro outcome_metrics() -%}
    {#- Over the outcome columns of `outcome_counts`: decided and its two rates. -#}
    {{ decided() }} as decided,
    {{ safe_divide(fault_found(), decided()) }} as fault_found_rate,
    {{ safe_divide('upheld', decided()) }} as uphold_rate
{%- endmacro %}

{% macro per_10k_residents(count, residents) -%}
    {#- count per 10,000 residents, DOUBLE; NULL when residents is NULL (no context row) or 0. -#}
    {{ safe_divide('(' ~ count ~ ') * 10000', residents) }}
{%- endmacro %}
