-- Which report line each unit belongs to, per year. A year's structure also restates the
-- previous year (units seen in any year are mapped in every year the structure covers).
with years as (
    select distinct fiscal_year from {{ ref('int_finance__unit_months') }}
),

units as (
    select distinct responsibility_unit from {{ ref('int_finance__unit_months') }}
)

select
    y.fiscal_year,
    u.responsibility_unit,
    s.report_code,
    s.line_label,
    s.is_special_item,
    s.line_order
from years as y
cross join units as u
inner join {{ ref('stg_config__report_structure') }} as s
    on y.fiscal_year between s.valid_from_year and s.valid_to_year
    and cast(u.responsibility_unit as integer) between s.unit_from and s.unit_to
