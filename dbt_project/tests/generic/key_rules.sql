{% test key_rules(model, unique_combination=none, unique=[], relationships=[]) %}
{#- A model's key rules in one test node, as column_rules does for its column rules: dbt's
    per-node cost was larger than these queries. The rules:
      unique_combination: [columns]          no two rows share these values (NULLs compare equal);
      unique: [column, ...]                  no two rows share a non-NULL value of the column;
      relationships: [[column, model, field], ...]
                                             every non-NULL value is a `field` of ref(model).
    Each failing row names the rule it breaks (failing_rule) and carries the whole offending row
    (with its extract and source line); the rows are stored (dbt's log names the table). -#}
{{ config(store_failures=true) }}
{%- set selects = [] %}
{%- set groups = [] %}
{%- if unique_combination %}
{%- do groups.append(('unique_combination(' ~ unique_combination | join(', ') ~ ')', unique_combination, false)) %}
{%- endif %}
{%- for column in unique %}
{%- do groups.append(('unique(' ~ column ~ ')', [column], true)) %}
{%- endfor %}
{%- for rule_name, columns, skip_nulls in groups %}
{%- set query %}
select '{{ rule_name }}' as failing_rule, m.*
from {{ model }} as m
inner join (
    select {{ columns | join(', ') }}
    from {{ model }}
    {%- if skip_nulls %}
    where {{ columns[0] }} is not null
    {%- endif %}
    group by {{ columns | join(', ') }}
    having count(*) > 1
) as d
    on {% for column in columns %}m.{{ column }} is not distinct from d.{{ column }}{% if not loop.last %} and {% endif %}{% endfor %}
{%- endset %}
{%- do selects.append(query) %}
{%- endfor %}
{%- for column, parent, field in relationships %}
{%- set query %}
select '{{ "relationships(" ~ column ~ " -> " ~ parent ~ "." ~ field ~ ")" }}' as failing_rule, m.*
from {{ model }} as m
where m.{{ column }} is not null
    and not exists (
        select 1 from {{ ref(parent) }} as p where p.{{ field }} = m.{{ column }}
    )
{%- endset %}
{%- do selects.append(query) %}
{%- endfor %}
{{ selects | join('\nunion all\n') }}
{% endtest %}
