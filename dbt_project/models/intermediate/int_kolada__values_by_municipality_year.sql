-- One row per municipality and year with the comparison's KPIs side by side (totals, gender
-- T). `has_*` tells a missing row from a row whose value is null.
with totals as (
    select * from {{ ref('stg_kolada__values') }}
    where gender = 'T'
)

select
    municipality_id,
    year,
    max(case when kpi_id = 'N30005' then kpi_value end) as net_cost_per_inhabitant,
    max(case when kpi_id = 'N30007' then kpi_value end) as reference_cost_per_inhabitant,
    max(case when kpi_id = 'N30014' then kpi_value end) as standard_cost_per_inhabitant,
    max(case when kpi_id = 'N30001' then kpi_value end) as deviation_pct,
    max(case when kpi_id = 'N30026' then kpi_value end) as deviation_mkr,
    max(case when kpi_id = 'N01951' then kpi_value end) as inhabitants,
    max(case when kpi_id = 'N33016' then kpi_value end) as child_youth_cost_per_inhabitant,
    max(case when kpi_id = 'N35019' then kpi_value end) as addiction_cost_per_inhabitant,
    max(case when kpi_id = 'N31008' then kpi_value end) as financial_aid_cost_per_inhabitant,
    max(case when kpi_id = 'N30001' then 1 else 0 end) = 1 as has_deviation_row,
    max(case when kpi_id = 'N30001' then status end) as deviation_status
from totals
group by municipality_id, year
