{#- The code of the municipality whose data the warehouse holds, first in every mart's grain
    (docs/municipalities.md). Each municipality's warehouse is built on its own, so the code is
    the build's: the pipeline sets IFO_KOMMUNKOD (settings.Settings.kommunkod). Unset, it is
    NULL, and every mart's not_null test on kommunkod fails the build. -#}
{% macro kommunkod() -%}
    cast(nullif('{{ env_var("IFO_KOMMUNKOD", "") }}', '') as {{ dbt.type_string() }})
{%- endmacro %}
