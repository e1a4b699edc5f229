{% test column_rules(model, not_null=[], accepted_values={}, accepted_range={}) %}
{#- A model's column rules in one test node, as key_rules holds its key rules: dbt's per-node cost
    was larger than these queries (one node per column and rule made up most of a build). The rules:
      not_null: [column, ...]                       the column is never NULL;
      accepted_values: {column: [value, ...]}       every non-NULL value is one of these; a name
                       {column: vocabulary_entry}   instead of a list takes the values from the
                                                    shared vocabulary (var complaints_vocabulary,
                                                    written from ingest/vocabulary.py);
      accepted_range: {column: {min_value: x, max_value: y}}
                                                    every non-NULL value lies within (either bound
                                                    may be left out).
    Each failing row names the rule it breaks (failing_rule) and its column (failing_column) and
    carries the whole offending row; the rows are stored (dbt's log names the table). -#}
{{ config(store_failures=true) }}
{#- (rule, column, condition a failing row meets), then one query per rule. -#}
{%- set rules = [] %}
{%- for column in not_null %}
{%- do rules.append(('not_null', column, column ~ ' is null')) %}
{%- endfor %}
{%- for column, values in accepted_values.items() %}
{%- set listed = var('complaints_vocabulary')[values] if values is string else values %}
{%- set quoted = [] %}
{%- for value in listed %}{% do quoted.append("'" ~ (value | replace("'", "''")) ~ "'") %}{% endfor %}
{%- do rules.append(('accepted_values', column, column ~ ' not in (' ~ quoted | join(', ') ~ ')')) %}
{%- endfor %}
{%- for column, bounds in accepted_range.items() %}
{%- set outside = [] %}
{%- if bounds.get('min_value') is not none %}{% do outside.append(column ~ ' < ' ~ bounds['min_value']) %}{% endif %}
{%- if bounds.get('max_value') is not none %}{% do outside.append(column ~ ' > ' ~ bounds['max_value']) %}{% endif %}
{%- do rules.append(('accepted_range', column, '(' ~ outside | join(' or ') ~ ')')) %}
{%- endfor %}
{%- for rule, column, condition in rules %}
select '{{ rule }}({{ column }})' as failing_rule, '{{ column }}' as failing_column, *
from {{ model }}
where {% if rule != 'not_null' %}{{ column }} is not null and {% endif %}{{ condition }}
{%- if not loop.last %}
union all
{%- endif %}
{%- endfor %}
{% endtest %}
