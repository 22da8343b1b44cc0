{% test has_match_in(model, columns, to, to_columns, where=none) %}
{#- A relationship over several columns: every key of `model` exists in `to`.
    The failing rows name the keys that have no match. -#}
select distinct {% for c in columns %}child.{{ c }}{% if not loop.last %}, {% endif %}{% endfor %}
from {{ model }} as child
left join {{ to }} as parent
    on {% for c in columns %}child.{{ c }} = parent.{{ to_columns[loop.index0] }}{% if not loop.last %} and {% endif %}{% endfor %}
where parent.{{ to_columns[0] }} is null
{%- if where %} and ({{ where }}){% endif %}
{% endtest %}
