-- Nettokostnad booked in each month (not year to date) per report line.
select
    f.fiscal_year,
    f.fiscal_month,
    ul.report_code,
    ul.line_label,
    sum(f.net_cost) as net_cost
from {{ ref('int_finance__unit_months') }} as f
inner join {{ ref('int_report_structure__unit_lines') }} as ul
    on ul.fiscal_year = f.fiscal_year
    and ul.responsibility_unit = f.responsibility_unit
where f.net_cost is not null
group by f.fiscal_year, f.fiscal_month, ul.report_code, ul.line_label
