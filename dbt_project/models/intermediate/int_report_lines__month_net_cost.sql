-- Nettokostnad booked in each month (not year to date) per report line, and the same month
-- of the previous year restated in this year's structure.
with unit_lines as (
    select * from {{ ref('int_report_structure__unit_lines') }}
),

finance as (
    select * from {{ ref('int_finance__unit_months') }}
),

this_year as (
    select f.fiscal_year, f.fiscal_month, ul.report_code, ul.line_label,
        sum(f.net_cost) as net_cost
    from finance as f
    inner join unit_lines as ul
        on ul.fiscal_year = f.fiscal_year
        and ul.responsibility_unit = f.responsibility_unit
    where f.net_cost is not null
    group by f.fiscal_year, f.fiscal_month, ul.report_code, ul.line_label
),

prior_year as (
    select ul.fiscal_year, f.fiscal_month, ul.report_code, ul.line_label,
        sum(f.net_cost) as prior_year_net_cost
    from finance as f
    inner join unit_lines as ul
        on ul.fiscal_year = f.fiscal_year + 1
        and ul.responsibility_unit = f.responsibility_unit
    where f.net_cost is not null
    group by ul.fiscal_year, f.fiscal_month, ul.report_code, ul.line_label
)

select
    t.fiscal_year,
    t.fiscal_month,
    t.report_code,
    t.line_label,
    t.net_cost,
    p.prior_year_net_cost
from this_year as t
left join prior_year as p
    on p.fiscal_year = t.fiscal_year
    and p.fiscal_month = t.fiscal_month
    and p.report_code = t.report_code
    and p.line_label = t.line_label
