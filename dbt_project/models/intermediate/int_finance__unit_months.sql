-- One row per (year, month, unit) with what was booked, allocated and forecast that month.
with net_cost as (
    select
        fiscal_year,
        fiscal_month,
        responsibility_unit,
        -- nettokostnad is −(debits) over the operating classes; shown negative, as printed.
        -sum(amount) as net_cost
    from {{ ref('stg_ledger__lines') }}
    where account_class in ({{ var('nettokostnad_account_classes') | join(', ') }})
    group by fiscal_year, fiscal_month, responsibility_unit
),

allocation as (
    select fiscal_year, fiscal_month, responsibility_unit, sum(allocation) as allocation
    from {{ ref('stg_budget__allocations') }}
    group by fiscal_year, fiscal_month, responsibility_unit
),

forecast as (
    select
        fiscal_year,
        forecast_month as fiscal_month,
        responsibility_unit,
        sum(forecast_result) as forecast_result
    from {{ ref('stg_forecasts__forecasts') }}
    group by fiscal_year, forecast_month, responsibility_unit
),

unit_months as (
    select fiscal_year, fiscal_month, responsibility_unit from net_cost
    union
    select fiscal_year, fiscal_month, responsibility_unit from allocation
    union
    select fiscal_year, fiscal_month, responsibility_unit from forecast
)

select
    um.fiscal_year,
    um.fiscal_month,
    um.responsibility_unit,
    n.net_cost,
    a.allocation,
    f.forecast_result
from unit_months as um
left join net_cost as n
    on n.fiscal_year = um.fiscal_year
    and n.fiscal_month = um.fiscal_month
    and n.responsibility_unit = um.responsibility_unit
left join allocation as a
    on a.fiscal_year = um.fiscal_year
    and a.fiscal_month = um.fiscal_month
    and a.responsibility_unit = um.responsibility_unit
left join forecast as f
    on f.fiscal_year = um.fiscal_year
    and f.fiscal_month = um.fiscal_month
    and f.responsibility_unit = um.responsibility_unit
