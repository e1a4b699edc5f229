{#- The waiver rule (docs/DESIGN.md, "Reviewed waivers"), written once: a reviewed waiver applies
    to a control total only when all six key columns match exactly, and a total that does not
    hold is 'waived' when one applies, else 'failed'. -#}

{% macro waiver_key() -%}
    {{ return(['extract_id', 'level', 'scope', 'measure', 'stated', 'computed']) }}
{%- endmacro %}

{% macro waiver_applies(control_total, waiver) -%}
    {%- for column in waiver_key() %}
        {% if not loop.first %}and {% endif %}{{ control_total }}.{{ column }} = {{ waiver }}.{{ column }}
    {%- endfor %}
{%- endmacro %}

{% macro reconciliation_status(holds, waiver_ids) -%}
    case
        when {{ holds }} then {{ status('ok') }}
        when {{ waiver_ids }} is not null then {{ status('waived') }}
        else {{ status('failed') }}
    end
{%- endmacro %}
