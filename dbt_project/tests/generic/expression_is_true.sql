{% test expression_is_true(model, expression, column_name=none, where=none) %}
{#- Every row satisfies `expression`; the failing rows are returned. -#}
select *
from {{ model }}
where not ({{ expression }})
{%- if where %} and ({{ where }}){% endif %}
{% endtest %}
