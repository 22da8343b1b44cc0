-- Where cost and volume meet: the month's nettokostnad of a report line per placement
-- counted on it, so that a cost rise can be read as volume or as price.
with placements as (
    select
        v.ar,
        v.manad,
        m.cost_report_code as rapport,
        m.cost_line_label as rapportrad,
        sum(v.varde) as placeringar
    from {{ ref('verksamhetsmatt') }} as v
    inner join {{ ref('stg_catalogue__measures') }} as m on m.measure_id = v.matt_id
    where m.cost_line_label is not null and v.varde is not null
    group by v.ar, v.manad, m.cost_report_code, m.cost_line_label
)

select
    {{ kommunkod() }} as kommunkod,
    p.ar,
    p.manad,
    p.rapport,
    p.rapportrad,
    p.placeringar,
    cast(c.net_cost as decimal(18, 2)) as nettokostnad_manad,
    cast(case when p.placeringar > 0 then c.net_cost / p.placeringar end as decimal(18, 2))
        as nettokostnad_per_placering
from placements as p
left join {{ ref('int_report_lines__month_net_cost') }} as c
    on c.fiscal_year = p.ar
    and c.fiscal_month = p.manad
    and c.report_code = p.rapport
    and c.line_label = p.rapportrad
