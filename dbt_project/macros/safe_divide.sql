{% macro safe_divide(numerator, denominator) -%}
    {#- numerator / denominator as DOUBLE; NULL (never 0, never an error) when the denominator is 0 or NULL. -#}
    (cast({{ numerator }} as double) / nullif(cast({{ denominator }} as double), 0))
{%- endmacro %}
