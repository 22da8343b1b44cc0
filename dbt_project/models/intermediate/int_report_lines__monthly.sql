-- Every line of every report, for every month with ledger data: year-to-date outcome and
-- allocation, full-year allocation, this month's and last month's forecast, and last year's
-- full-year result restated in this year's structure (last year's figures of the units that
-- map to the line this year), and last year's nettokostnad to date and for the full year, in
-- the same restatement, for the cost-profile forecast.
with report_months as (
    select distinct fiscal_year, fiscal_month as report_month
    from {{ ref('stg_ledger__lines') }}
),

finance as (
    select * from {{ ref('int_finance__unit_months') }}
),

unit_lines as (
    select * from {{ ref('int_report_structure__unit_lines') }}
),

unit_measures as (
    select
        rm.fiscal_year,
        rm.report_month,
        f.responsibility_unit,
        sum(case when f.fiscal_month <= rm.report_month then f.allocation end) as allocation_ytd,
        sum(case when f.fiscal_month <= rm.report_month then f.net_cost end) as net_cost_ytd,
        sum(f.allocation) as allocation_full_year,
        sum(case when f.fiscal_month = rm.report_month then f.forecast_result end)
            as forecast_result,
        sum(case when f.fiscal_month = rm.report_month - 1 then f.forecast_result end)
            as previous_forecast_result
    from report_months as rm
    inner join finance as f on f.fiscal_year = rm.fiscal_year
    group by rm.fiscal_year, rm.report_month, f.responsibility_unit
),

line_measures as (
    select
        um.fiscal_year,
        um.report_month,
        ul.report_code,
        ul.line_label,
        sum(um.allocation_ytd) as allocation_ytd,
        sum(um.net_cost_ytd) as net_cost_ytd,
        sum(um.allocation_full_year) as allocation_full_year,
        sum(um.forecast_result) as forecast_result,
        sum(um.previous_forecast_result) as previous_forecast_result
    from unit_measures as um
    inner join unit_lines as ul
        on ul.fiscal_year = um.fiscal_year
        and ul.responsibility_unit = um.responsibility_unit
    group by um.fiscal_year, um.report_month, ul.report_code, ul.line_label
),

prior_year_by_unit as (
    select
        fiscal_year + 1 as fiscal_year,
        responsibility_unit,
        coalesce(sum(allocation), 0) + coalesce(sum(net_cost), 0) as prior_year_result
    from finance
    group by fiscal_year, responsibility_unit
),

prior_year_by_line as (
    select
        ul.fiscal_year,
        ul.report_code,
        ul.line_label,
        sum(p.prior_year_result) as prior_year_result
    from unit_lines as ul
    inner join prior_year_by_unit as p
        on p.fiscal_year = ul.fiscal_year
        and p.responsibility_unit = ul.responsibility_unit
    group by ul.fiscal_year, ul.report_code, ul.line_label
),

prior_year_cost_by_line as (
    select
        rm.fiscal_year,
        rm.report_month,
        ul.report_code,
        ul.line_label,
        sum(case when f.fiscal_month <= rm.report_month then f.net_cost end)
            as prior_year_net_cost_ytd,
        sum(f.net_cost) as prior_year_net_cost_full_year
    from report_months as rm
    inner join unit_lines as ul on ul.fiscal_year = rm.fiscal_year
    inner join finance as f
        on f.fiscal_year = rm.fiscal_year - 1
        and f.responsibility_unit = ul.responsibility_unit
    group by rm.fiscal_year, rm.report_month, ul.report_code, ul.line_label
),

years_with_prior_ledger as (
    select distinct fiscal_year + 1 as fiscal_year from report_months
)

select
    rm.fiscal_year,
    rm.report_month,
    l.report_code,
    l.line_label,
    l.is_special_item,
    l.line_order,
    lm.allocation_ytd,
    lm.net_cost_ytd,
    lm.allocation_full_year,
    lm.forecast_result,
    lm.previous_forecast_result,
    -- NULL when there is no prior-year ledger at all; 0 for a line with nothing booked then.
    case when py.fiscal_year is not null then coalesce(lp.prior_year_result, 0) end
        as prior_year_result,
    pc.prior_year_net_cost_ytd,
    pc.prior_year_net_cost_full_year
from report_months as rm
inner join {{ ref('int_report_lines__by_year') }} as l
    on l.fiscal_year = rm.fiscal_year
left join line_measures as lm
    on lm.fiscal_year = rm.fiscal_year
    and lm.report_month = rm.report_month
    and lm.report_code = l.report_code
    and lm.line_label = l.line_label
left join prior_year_by_line as lp
    on lp.fiscal_year = rm.fiscal_year
    and lp.report_code = l.report_code
    and lp.line_label = l.line_label
left join prior_year_cost_by_line as pc
    on pc.fiscal_year = rm.fiscal_year
    and pc.report_month = rm.report_month
    and pc.report_code = l.report_code
    and pc.line_label = l.line_label
left join years_with_prior_ledger as py
    on py.fiscal_year = rm.fiscal_year
