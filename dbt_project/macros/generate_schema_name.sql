{# Schemas are named as the layers are (staging, intermediate, marts), not prefixed with the
   target schema: controllers query `marts.resultatrapport`. #}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
