-- Which lines are heading for a deficit, and is the forecast believable? The controllers'
-- forecast beside three reference forecasts computed from the data, and flags in plain Swedish.
with report_rows as (
    select * from {{ ref('int_report_rows__monthly') }}
),

drivers as (
    select ar, manad, rapport, rapportrad, placeringar, placeringar_fg_ar
    from {{ ref('kostnadsdrivare') }}
),

reference_forecasts as (
    select
        r.*,
        coalesce(r.allocation_ytd, 0) + coalesce(r.net_cost_ytd, 0) as result_ytd,
        r.forecast_result - r.previous_forecast_result as forecast_change,
        -- Linear run rate: the result so far, as if every month were like the average month.
        -- Divisions in double on every engine, as DuckDB divides decimals (Spark would keep
        -- the decimal, and round an öre differently now and then).
        cast(coalesce(r.allocation_ytd, 0) + coalesce(r.net_cost_ytd, 0) as double) * 12
            / r.report_month as forecast_linear,
        -- Budget ratio: cost keeps pace with the budget as it has so far.
        case when r.allocation_ytd <> 0
            then r.allocation_full_year
                + cast(r.net_cost_ytd as double) / cast(r.allocation_ytd as double)
                    * cast(r.allocation_full_year as double)
        end as forecast_budget_ratio,
        -- Last year's profile: this year's cost so far grows as last year's did from here.
        case when r.prior_year_net_cost_ytd <> 0 and r.net_cost_ytd is not null
            then coalesce(r.allocation_full_year, 0)
                + cast(r.net_cost_ytd as double) / cast(r.prior_year_net_cost_ytd as double)
                    * cast(r.prior_year_net_cost_full_year as double)
        end as forecast_prior_year_profile
    from report_rows as r
),

gaps as (
    select
        x.*,
        d.placeringar,
        d.placeringar_fg_ar,
        x.forecast_result - x.forecast_linear as gap_linear,
        x.forecast_result - x.forecast_budget_ratio as gap_budget_ratio,
        x.forecast_result - x.forecast_prior_year_profile as gap_prior_year_profile
    from reference_forecasts as x
    left join drivers as d
        on d.ar = x.fiscal_year
        and d.manad = x.report_month
        and d.rapport = x.report_code
        and d.rapportrad = x.line_label
),

flags as (
    select
        g.*,
        case when g.forecast_result < -1000 * {{ var('flag_deficit_tkr') }}
            then 'underskott väntas: årsprognos -' || {{ format_tkr('g.forecast_result') }}
                || ' tkr'
        end as reason_deficit,
        case when g.forecast_change < -1000 * {{ var('flag_forecast_worsened_tkr') }}
            then 'prognosen försämrad med ' || {{ format_tkr('g.forecast_change') }}
                || ' tkr sedan ' || {{ swedish_month_name('g.report_month - 1') }}
        end as reason_worsened,
        case when g.forecast_result is not null
            and coalesce(g.gap_linear, g.gap_budget_ratio, g.gap_prior_year_profile) is not null
            and (g.gap_linear is null
                 or abs(g.gap_linear) > 1000 * {{ var('flag_far_from_references_tkr') }})
            and (g.gap_budget_ratio is null
                 or abs(g.gap_budget_ratio) > 1000 * {{ var('flag_far_from_references_tkr') }})
            and (g.gap_prior_year_profile is null
                 or abs(g.gap_prior_year_profile)
                    > 1000 * {{ var('flag_far_from_references_tkr') }})
            then 'prognosen avviker mer än '
                || {{ format_tkr(1000 * var('flag_far_from_references_tkr')) }}
                || ' tkr från alla referensprognoser'
        end as reason_far_from_references,
        case when g.forecast_change > 0 and g.placeringar_fg_ar > 0
            and g.placeringar > g.placeringar_fg_ar
                * (1 + {{ var('flag_volume_increase_pct') }} / 100.0)
            then 'placeringarna har ökat med '
                || cast(cast(round((g.placeringar / g.placeringar_fg_ar - 1) * 100, 0) as integer)
                    as {{ dbt.type_string() }})
                || ' % mot samma månad i fjol men prognosen har förbättrats'
        end as reason_volume
    from gaps as g
)

select
    {{ kommunkod() }} as kommunkod,
    fiscal_year as ar,
    report_month as manad,
    report_code as rapport,
    line_label as rapportrad,
    row_type as radtyp,
    print_order as ordning,
    cast(result_ytd as decimal(18, 2)) as nettoresultat_ack,
    cast(allocation_full_year as decimal(18, 2)) as kommunbidrag_helar,
    cast(forecast_result as decimal(18, 2)) as arsprognos,
    cast(forecast_change as decimal(18, 2)) as forandring_mot_fg_prognos,
    cast(forecast_linear as decimal(18, 2)) as prognos_linjar,
    cast(forecast_budget_ratio as decimal(18, 2)) as prognos_budgetkvot,
    cast(forecast_prior_year_profile as decimal(18, 2)) as prognos_fg_ar_profil,
    cast(gap_linear as decimal(18, 2)) as avvikelse_mot_linjar,
    cast(gap_budget_ratio as decimal(18, 2)) as avvikelse_mot_budgetkvot,
    cast(gap_prior_year_profile as decimal(18, 2)) as avvikelse_mot_fg_ar_profil,
    coalesce(reason_deficit, reason_worsened, reason_far_from_references, reason_volume)
        is not null as flagga,
    nullif(concat_ws('; ', reason_worsened, reason_deficit, reason_far_from_references,
        reason_volume), '') as flaggorsak
from flags
