-- The IFO net cost deviation of the home municipality against its comparison group and the
-- country, per year, as published by Kolada and recomputed from its parts.
with comparison as (
    select * from {{ ref('int_kolada__comparison_set') }}
),

years as (
    select cast(setting_value as integer) as year
    from {{ ref('stg_kolada__config') }}
    where setting = 'year'
),

kpi as (
    select last_final_year from {{ ref('stg_kolada__kpis') }} where kpi_id = 'N30001'
),

base as (
    select
        y.year,
        c.municipality_id,
        coalesce(m.municipality_name, g.group_title) as municipality_name,
        c.role,
        v.net_cost_per_inhabitant,
        v.reference_cost_per_inhabitant,
        v.deviation_pct,
        v.deviation_mkr,
        v.inhabitants,
        coalesce(v.has_deviation_row, false) as has_deviation_row,
        v.deviation_status
    from years as y
    cross join comparison as c
    left join {{ ref('int_kolada__values_by_municipality_year') }} as v
        on v.municipality_id = c.municipality_id and v.year = y.year
    left join {{ ref('stg_kolada__municipalities') }} as m
        on m.municipality_id = c.municipality_id
    left join (select distinct group_id, group_title
               from {{ ref('stg_kolada__group_members') }}) as g
        on g.group_id = c.municipality_id
),

with_previous as (
    select
        b.*,
        lag(b.deviation_pct) over (partition by b.municipality_id order by b.year)
            as previous_deviation_pct,
        lag(b.year) over (partition by b.municipality_id order by b.year) as previous_year
    from base as b
)

select
    {{ kommunkod() }} as kommunkod,
    w.year as ar,
    w.municipality_id as kommun_id,
    w.municipality_name as kommun,
    w.role as roll,
    w.net_cost_per_inhabitant as nettokostnad_kr_inv,
    w.reference_cost_per_inhabitant as referenskostnad_kr_inv,
    w.deviation_pct as avvikelse_pct,
    case when w.reference_cost_per_inhabitant <> 0
        then round((w.net_cost_per_inhabitant - w.reference_cost_per_inhabitant) * 100.0
                   / w.reference_cost_per_inhabitant, 1)
    end as avvikelse_pct_beraknad,
    round(w.deviation_pct
          - case when w.reference_cost_per_inhabitant <> 0
                 then (w.net_cost_per_inhabitant - w.reference_cost_per_inhabitant) * 100.0
                      / w.reference_cost_per_inhabitant end, 1) as avvikelse_differens,
    w.deviation_mkr as avvikelse_mkr,
    w.inhabitants as invanare,
    round(w.deviation_pct - w.previous_deviation_pct, 1) as forandring_pct_enheter,
    -- A relative change across a change of sign (−2,6 → 20,1) or from 0 means nothing.
    case when w.previous_deviation_pct * w.deviation_pct > 0
        then round((w.deviation_pct - w.previous_deviation_pct) * 100.0
                   / abs(w.previous_deviation_pct), 1)
    end as forandring_relativ,
    case
        when w.previous_deviation_pct is null or w.deviation_pct is null then 'saknas'
        when w.previous_deviation_pct = 0 then 'fran_noll'
        when w.previous_deviation_pct * w.deviation_pct < 0 then 'teckenbyte'
        when w.deviation_pct = 0 then 'till_noll'
        else 'beraknad'
    end as forandring_relativ_status,
    case when w.role in ('hemkommun', 'jamforelsekommun') and w.deviation_pct is not null
        then cast(rank() over (
            partition by w.year,
                case when w.role in ('hemkommun', 'jamforelsekommun') and w.deviation_pct
                    is not null then 1 else 0 end
            order by w.deviation_pct) as integer)
    end as rang_i_grupp,
    case when w.previous_year is null then null
        else not (w.year >= {{ var('kolada_n30001_method_break_year') }}
                  and w.previous_year < {{ var('kolada_n30001_method_break_year') }})
    end as jamforbar_med_fg_ar,
    coalesce(w.year > k.last_final_year, false) as preliminar,
    case when not w.has_deviation_row then 'saknas'
         when w.deviation_pct is null then 'tomt'
         else 'publicerat' end as avvikelse_status,
    w.deviation_status as kolada_status
from with_previous as w
cross join kpi as k
