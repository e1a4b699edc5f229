{% macro safe_divide(numerator, denominator) -%}
    {#- numerator / denominator as DOUBLE; NULL (never 0, never an error) when the denominator is 0 or NULL. -#}
    (cast({{ numerator }} as {{ type_double() }}) / nullif(cast({{ denominator }} as {{ type_double() }}), 0))
{%- endmacro %}
