-- A line's monthly cost change against the same month last year, split into a volume part
-- (more or fewer placements at last year's price) and a price part (this year's placements
-- at the changed price): change = volymeffekt + priseffekt, exactly.
with placements as (
    select * from {{ ref('kostnad_per_placering') }}
),

cost as (
    select * from {{ ref('int_report_lines__month_net_cost') }}
),

joined as (
    select
        cur.ar,
        cur.manad,
        cur.rapport,
        cur.rapportrad,
        cur.placeringar,
        prev.placeringar as placeringar_fg_ar,
        c.net_cost as nettokostnad_manad,
        c.prior_year_net_cost as nettokostnad_manad_fg_ar
    from placements as cur
    left join placements as prev
        on prev.ar = cur.ar - 1
        and prev.manad = cur.manad
        and prev.rapport = cur.rapport
        and prev.rapportrad = cur.rapportrad
    left join cost as c
        on c.fiscal_year = cur.ar
        and c.fiscal_month = cur.manad
        and c.report_code = cur.rapport
        and c.line_label = cur.rapportrad
),

priced as (
    select
        *,
        case when placeringar > 0 then nettokostnad_manad / placeringar end as pris,
        case when placeringar_fg_ar > 0 then nettokostnad_manad_fg_ar / placeringar_fg_ar end
            as pris_fg_ar
    from joined
)

select
    {{ kommunkod() }} as kommunkod,
    ar,
    manad,
    rapport,
    rapportrad,
    placeringar,
    placeringar_fg_ar,
    cast(nettokostnad_manad as decimal(18, 2)) as nettokostnad_manad,
    cast(nettokostnad_manad_fg_ar as decimal(18, 2)) as nettokostnad_manad_fg_ar,
    cast(pris as decimal(18, 2)) as kostnad_per_placering,
    cast(pris_fg_ar as decimal(18, 2)) as kostnad_per_placering_fg_ar,
    cast(nettokostnad_manad - nettokostnad_manad_fg_ar as decimal(18, 2)) as forandring,
    cast((placeringar - placeringar_fg_ar) * pris_fg_ar as decimal(18, 2)) as volymeffekt,
    cast((pris - pris_fg_ar) * placeringar as decimal(18, 2)) as priseffekt
from priced
