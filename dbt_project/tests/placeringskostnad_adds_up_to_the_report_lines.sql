-- Every nettokostnad krona of a report line and month is in exactly one kind of cost.
with by_kind as (
    select ar, manad, rapport, rapportrad, sum(nettokostnad) as nettokostnad
    from {{ ref('placeringskostnad') }}
    group by ar, manad, rapport, rapportrad
),

by_line as (
    select
        h.ar, h.manad, h.rapport, h.rapportrad, sum(h.belopp) as nettokostnad
    from {{ ref('huvudbok') }} as h
    where h.raknas_i_nettokostnad and h.rapport is not null
    group by h.ar, h.manad, h.rapport, h.rapportrad
)

select l.*, k.nettokostnad as by_kind
from by_line as l
full outer join by_kind as k
    on k.ar = l.ar and k.manad = l.manad and k.rapport = l.rapport
    and k.rapportrad = l.rapportrad
where coalesce(k.nettokostnad, 0) <> coalesce(l.nettokostnad, 0)
