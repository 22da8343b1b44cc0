-- The result table of the monthly report, every line, subtotal and total, every month.
select
    {{ kommunkod() }} as kommunkod,
    fiscal_year as ar,
    report_month as manad,
    report_code as rapport,
    line_label as rapportrad,
    row_type as radtyp,
    print_order as ordning,
    cast(allocation_ytd as decimal(18, 2)) as kommunbidrag_ack,
    cast(net_cost_ytd as decimal(18, 2)) as nettokostnad_ack,
    cast(coalesce(allocation_ytd, 0) + coalesce(net_cost_ytd, 0) as decimal(18, 2))
        as nettoresultat_ack,
    cast(allocation_full_year as decimal(18, 2)) as kommunbidrag_helar,
    cast(forecast_result as decimal(18, 2)) as arsprognos,
    cast(forecast_result - previous_forecast_result as decimal(18, 2))
        as forandring_mot_fg_prognos,
    cast(prior_year_result as decimal(18, 2)) as helar_fg_ar
from {{ ref('int_report_rows__monthly') }}
