{#-
    delete+insert on DuckDB (marts.huvudbok, keyed on the month: ar, manad). dbt-duckdb deletes
    with a join on the key (`delete ... using`), which matches every row of a replaced month
    with every new row of it: a corrected month of 25 000 lines took longer than rebuilding the
    whole table. dbt's own form deletes the same rows with a semi-join
    (`where (ar, manad) in (select distinct ...)`).
-#}
{% macro duckdb__get_delete_insert_merge_sql(target, source, unique_key, dest_columns, incremental_predicates) -%}
    {{ default__get_delete_insert_merge_sql(target, source, unique_key, dest_columns, incremental_predicates) }}
{%- endmacro %}
