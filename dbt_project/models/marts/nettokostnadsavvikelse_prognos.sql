-- An own-year estimate no Kolada screen gives: this year's IFO nettokostnad per inhabitant
-- from the ledger (the forecast full-year result minus the full-year budget), against the
-- latest referenskostnad Kolada has published. An estimate, labelled with its inputs.
with home as (
    select setting_value as municipality_id
    from {{ ref('stg_kolada__config') }} where setting = 'home_municipality'
),

latest_month as (
    select ar, max(manad) as manad
    from {{ ref('resultatrapport') }}
    where rapport = '{{ var("ifo_report_code") }}' and radtyp = 'summa'
        and arsprognos is not null
    group by ar
),

forecast as (
    select r.ar, r.manad, r.arsprognos, r.kommunbidrag_helar,
        r.arsprognos - coalesce(r.kommunbidrag_helar, 0) as nettokostnad_helar_prognos
    from {{ ref('resultatrapport') }} as r
    inner join latest_month as l on l.ar = r.ar and l.manad = r.manad
    where r.rapport = '{{ var("ifo_report_code") }}' and r.radtyp = 'summa'
),

kolada as (
    select v.year, v.inhabitants, v.reference_cost_per_inhabitant
    from {{ ref('int_kolada__values_by_municipality_year') }} as v
    inner join home as h on h.municipality_id = v.municipality_id
),

latest_inputs as (
    select
        f.ar,
        max(case when k.inhabitants is not null then k.year end) as invanare_ar,
        max(case when k.reference_cost_per_inhabitant is not null then k.year end)
            as referenskostnad_ar
    from forecast as f
    inner join kolada as k on k.year <= f.ar
    group by f.ar
)

select
    {{ kommunkod() }} as kommunkod,
    f.ar,
    f.manad,
    h.municipality_id as kommun_id,
    cast(f.nettokostnad_helar_prognos as decimal(18, 2)) as nettokostnad_helar_prognos,
    i.inhabitants as invanare,
    li.invanare_ar,
    round(-f.nettokostnad_helar_prognos / i.inhabitants, 0) as nettokostnad_kr_inv_prognos,
    r.reference_cost_per_inhabitant as referenskostnad_kr_inv,
    li.referenskostnad_ar,
    round((-f.nettokostnad_helar_prognos / i.inhabitants - r.reference_cost_per_inhabitant) * 100.0
          / r.reference_cost_per_inhabitant, 1) as avvikelse_pct_uppskattad,
    'Egen uppskattning, inte Koladas: nettokostnad helår = årsprognos − kommunbidrag helår '
        || 'i rapport {{ var("ifo_report_code") }} (månad ' || cast(f.manad as {{ dbt.type_string() }})
        || '), per invånare ' || cast(li.invanare_ar as {{ dbt.type_string() }})
        || ', mot referenskostnad ' || cast(li.referenskostnad_ar as {{ dbt.type_string() }})
        || ' (Källa: Kolada).' as beskrivning
from forecast as f
cross join home as h
inner join latest_inputs as li on li.ar = f.ar
inner join kolada as i on i.year = li.invanare_ar
inner join kolada as r on r.year = li.referenskostnad_ar
