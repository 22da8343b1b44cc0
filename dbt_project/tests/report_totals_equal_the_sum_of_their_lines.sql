-- Every total row equals the sum of the report's lines, for every money column.
with lines as (
    select ar, manad, rapport,
        sum(kommunbidrag_ack) as kb, sum(nettokostnad_ack) as nk, sum(arsprognos) as prognos,
        sum(helar_fg_ar) as fg_ar
    from {{ ref('resultatrapport') }}
    where radtyp = 'rad'
    group by ar, manad, rapport
)

select t.ar, t.manad, t.rapport, t.rapportrad
from {{ ref('resultatrapport') }} as t
inner join lines as l on l.ar = t.ar and l.manad = t.manad and l.rapport = t.rapport
where t.radtyp = 'summa'
    and (coalesce(t.kommunbidrag_ack, 0) <> coalesce(l.kb, 0)
         or coalesce(t.nettokostnad_ack, 0) <> coalesce(l.nk, 0)
         or coalesce(t.arsprognos, 0) <> coalesce(l.prognos, 0)
         or coalesce(t.helar_fg_ar, 0) <> coalesce(l.fg_ar, 0))
