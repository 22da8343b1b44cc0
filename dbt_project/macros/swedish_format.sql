{#- Plain-Swedish text for the flag reasons. Dispatched so that another engine can supply its
    own number formatting; the default has no thousands separator. The separator is U+202F, a
    narrow no-break space (written as the character: no escape works in every engine's SQL),
    so that a figure is never broken across two lines of a printed report. -#}
{% macro format_tkr(amount) -%}
    {{ return(adapter.dispatch('format_tkr')(amount)) }}
{%- endmacro %}

{% macro default__format_tkr(amount) -%}
    cast(cast(round(abs({{ amount }}) / 1000, 0) as bigint) as {{ dbt.type_string() }})
{%- endmacro %}

{% macro duckdb__format_tkr(amount) -%}
    replace(format('{:,d}', cast(round(abs({{ amount }}) / 1000, 0) as bigint)), ',', ' ')
{%- endmacro %}

{% macro swedish_month_name(month) -%}
    case {{ month }}
        when 1 then 'januari' when 2 then 'februari' when 3 then 'mars' when 4 then 'april'
        when 5 then 'maj' when 6 then 'juni' when 7 then 'juli' when 8 then 'augusti'
        when 9 then 'september' when 10 then 'oktober' when 11 then 'november'
        when 12 then 'december'
    end
{%- endmacro %}

{% macro spark__format_tkr(amount) -%}
    replace(format_number(cast(round(abs({{ amount }}) / 1000, 0) as bigint), 0), ',', ' ')
{%- endmacro %}
