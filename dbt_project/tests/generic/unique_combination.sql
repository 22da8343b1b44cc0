{% test unique_combination(model, columns) %}
{#- No two rows share these columns: the model's grain. -#}
select {{ columns | join(', ') }}, count(*) as rows_with_this_key
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
