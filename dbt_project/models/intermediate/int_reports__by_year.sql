-- Reports valid per year, with every report that lies below each one (itself included), so
-- that a parent's line for a child report can add up the child's whole subtree. Nesting is
-- resolved by joins, up to four levels, to stay portable to engines without recursive CTEs.
with reports as (
    select y.fiscal_year, r.*
    from (select distinct fiscal_year from {{ ref('int_finance__unit_months') }}) as y
    inner join {{ ref('stg_config__reports') }} as r
        on y.fiscal_year between r.valid_from_year and r.valid_to_year
),

descendants as (
    select fiscal_year, report_code as ancestor_code, report_code as descendant_code
    from reports
    union all
    select c.fiscal_year, c.parent_report_code, c.report_code
    from reports as c
    where c.parent_report_code is not null
    union all
    select c.fiscal_year, p.parent_report_code, c.report_code
    from reports as c
    inner join reports as p
        on p.fiscal_year = c.fiscal_year and p.report_code = c.parent_report_code
    where p.parent_report_code is not null
    union all
    select c.fiscal_year, g.parent_report_code, c.report_code
    from reports as c
    inner join reports as p
        on p.fiscal_year = c.fiscal_year and p.report_code = c.parent_report_code
    inner join reports as g
        on g.fiscal_year = p.fiscal_year and g.report_code = p.parent_report_code
    where g.parent_report_code is not null
)

select
    d.fiscal_year,
    d.ancestor_code,
    d.descendant_code,
    a.report_title as ancestor_title,
    a.total_label as ancestor_total_label,
    a.subtotal_label as ancestor_subtotal_label,
    a.parent_report_code as ancestor_parent_code,
    a.order_in_parent as ancestor_order_in_parent
from descendants as d
inner join reports as a
    on a.fiscal_year = d.fiscal_year and a.report_code = d.ancestor_code
