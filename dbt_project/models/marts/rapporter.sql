-- The reports of each year, how they nest and in which order they print.
select
    {{ kommunkod() }} as kommunkod,
    y.fiscal_year as ar,
    r.report_code as rapport,
    r.report_title as rubrik,
    r.total_label as summarad,
    r.subtotal_label as delsummarad,
    r.parent_report_code as ingar_i,
    cast(r.order_in_parent as integer) as ordning,
    cast(coalesce(d.depth, 0) as integer) as niva
from {{ ref('stg_config__reports') }} as r
inner join (select distinct fiscal_year from {{ ref('int_finance__unit_months') }}) as y
    on y.fiscal_year between r.valid_from_year and r.valid_to_year
left join (
    select fiscal_year, descendant_code, count(*) - 1 as depth
    from {{ ref('int_reports__by_year') }}
    group by fiscal_year, descendant_code
) as d
    on d.fiscal_year = y.fiscal_year and d.descendant_code = r.report_code
