-- Forecast accuracy (prognossäkerhet) once a year is closed: every month's forecast against
-- the year's final outcome, per report row.
with report as (
    select * from {{ ref('resultatrapport') }}
),

outcome as (
    select ar, rapport, rapportrad, nettoresultat_ack as utfall
    from report
    where manad = 12
)

select
    {{ kommunkod() }} as kommunkod,
    r.ar,
    r.manad,
    r.rapport,
    r.rapportrad,
    r.radtyp,
    r.ordning,
    r.arsprognos,
    o.utfall,
    cast(r.arsprognos - o.utfall as decimal(18, 2)) as prognosfel,
    cast(abs(r.arsprognos - o.utfall) as decimal(18, 2)) as absolut_prognosfel,
    case when o.utfall <> 0
        then cast(round((r.arsprognos - o.utfall) * 100.0 / abs(o.utfall), 1) as double)
    end as prognosfel_pct
from report as r
inner join outcome as o
    on o.ar = r.ar and o.rapport = r.rapport and o.rapportrad = r.rapportrad
where r.arsprognos is not null
