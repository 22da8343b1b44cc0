{{ config(meta={"dagster": {"ref": {"name": "resultatrapport"}}}) }}
-- Where a report's structure did not change between two years, its restated prior-year
-- column equals what the same report printed for that year in December.
with this_year as (
    -- The latest month of each year (correlated on the outer row: `r.ar`, not the inner `ar`).
    select r.ar, r.rapport, r.rapportrad, r.helar_fg_ar
    from {{ ref('resultatrapport') }} as r
    where r.manad = (
        select max(m.manad) from {{ ref('resultatrapport') }} as m where m.ar = r.ar
    )
),

last_year as (
    select ar, rapport, rapportrad, nettoresultat_ack
    from {{ ref('resultatrapport') }}
    where manad = 12
),

unchanged as (
    -- reports whose set of (unit range → line) rows is the same in both years
    select distinct a.rapport, a.ar
    from this_year as a
    where not exists (
        select 1
        from {{ ref('stg_config__report_structure') }} as s
        where s.report_code = a.rapport
        and (s.valid_from_year = a.ar or s.valid_to_year = a.ar - 1)
    )
)

select t.ar, t.rapport, t.rapportrad, t.helar_fg_ar, l.nettoresultat_ack
from this_year as t
inner join unchanged as u on u.rapport = t.rapport and u.ar = t.ar
inner join last_year as l
    on l.ar = t.ar - 1 and l.rapport = t.rapport and l.rapportrad = t.rapportrad
where t.helar_fg_ar <> l.nettoresultat_ack
