-- Quarters and years: flows add up; stocks are averaged and taken at the period's last
-- reported month.
with months as (
    select
        v.*,
        cast(floor((v.manad - 1) / 3) + 1 as integer) as kvartal
    from {{ ref('verksamhetsmatt') }} as v
    where v.varde is not null
),

periods as (
    select ar, 'kvartal' as periodtyp, kvartal as period, matt_id, matttyp, manad, varde
    from months
    union all
    select ar, 'ar' as periodtyp, 0 as period, matt_id, matttyp, manad, varde
    from months
),

last_month as (
    select ar, periodtyp, period, matt_id, max(manad) as sista_manad
    from periods
    group by ar, periodtyp, period, matt_id
)

select
    {{ kommunkod() }} as kommunkod,
    p.ar,
    p.periodtyp,
    p.period,
    p.matt_id,
    p.matttyp,
    count(*) as rapporterade_manader,
    case when p.matttyp = 'flow' then sum(p.varde) end as summa,
    case when p.matttyp = 'stock' then avg(p.varde) end as medel,
    case when p.matttyp = 'stock'
        then max(case when p.manad = l.sista_manad then p.varde end) end as periodslut
from periods as p
inner join last_month as l
    on l.ar = p.ar and l.periodtyp = p.periodtyp and l.period = p.period
    and l.matt_id = p.matt_id
group by p.ar, p.periodtyp, p.period, p.matt_id, p.matttyp
