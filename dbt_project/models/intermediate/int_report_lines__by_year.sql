-- The lines each report prints in a year, whether or not anything was booked on them.
select
    y.fiscal_year,
    s.report_code,
    s.line_label,
    max(case when s.is_special_item then 1 else 0 end) = 1 as is_special_item,
    min(s.line_order) as line_order
from (select distinct fiscal_year from {{ ref('int_finance__unit_months') }}) as y
inner join {{ ref('stg_config__report_structure') }} as s
    on y.fiscal_year between s.valid_from_year and s.valid_to_year
group by y.fiscal_year, s.report_code, s.line_label
