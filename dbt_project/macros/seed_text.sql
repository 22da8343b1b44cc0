{#- A text column of a seed. dbt-spark's session method loads an empty seed cell as the text
    'None' (dbt-labs/dbt-adapters#487): on Spark that text is read back as NULL. -#}
{% macro seed_text(column) -%}
    {{ return(adapter.dispatch('seed_text')(column)) }}
{%- endmacro %}

{% macro default__seed_text(column) -%}
    {{ column }}
{%- endmacro %}

{% macro spark__seed_text(column) -%}
    nullif({{ column }}, 'None')
{%- endmacro %}
