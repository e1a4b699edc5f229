{#- Keys of Appendix C departments and service areas. A section whose department is unresolved
    ('Unknown') is a department of its own, named by its extract and first line
    (unresolved_section), so two such sections never merge; a resolved department keeps the key
    of council | department | directorate. -#}

{% macro department_key(council, department_normalised, directorate_normalised, unresolved_extract_id, unresolved_section) -%}
    case when {{ unresolved_section }} is null
        then {{ surrogate_key([council, department_normalised, directorate_normalised]) }}
        else {{ surrogate_key([council, department_normalised, directorate_normalised, unresolved_extract_id, unresolved_section]) }}
    end
{%- endmacro %}

{% macro service_area_key(extract_id, department, directorate, service_area, unresolved_section) -%}
    case when {{ unresolved_section }} is null
        then {{ surrogate_key([extract_id, department, directorate, service_area]) }}
        else {{ surrogate_key([extract_id, department, directorate, service_area, unresolved_section]) }}
    end
{%- endmacro %}
