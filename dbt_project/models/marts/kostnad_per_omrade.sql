-- The genomlysning by area (seed 000): the home municipality's cost per inhabitant in each
-- area of IFO against its comparison group and the country, per year, and what the
-- difference against the group is worth in mnkr.
{% set areas = [
    ('barn och unga', 'child_youth_cost_per_inhabitant', 'N33016'),
    ('missbruk vuxna', 'addiction_cost_per_inhabitant', 'N35019'),
    ('ekonomiskt bistånd', 'financial_aid_cost_per_inhabitant', 'N31008'),
] %}
with comparison as (
    select * from {{ ref('int_kolada__comparison_set') }}
),

group_id as (
    -- One group is compared with: the first configured (kolada.toml's comparison_groups).
    select min(group_id) as group_id from comparison where role = 'grupp'
),

values_by_year as (
    select * from {{ ref('int_kolada__values_by_municipality_year') }}
),

-- Each municipality's cost per area; "övrig IFO" is the whole (N30005) less the three.
area_values as (
    {% for name, column, kpi in areas %}
    select municipality_id, year, '{{ name }}' as area, {{ column }} as kr_per_inhabitant
    from values_by_year
    union all
    {% endfor %}
    select municipality_id, year, 'övrig IFO' as area,
        net_cost_per_inhabitant
        {% for name, column, kpi in areas %} - {{ column }}{% endfor %} as kr_per_inhabitant
    from values_by_year
),

home as (
    select a.*
    from area_values as a
    inner join comparison as c on c.municipality_id = a.municipality_id and c.role = 'hemkommun'
),

group_published as (
    select a.year, a.area, a.kr_per_inhabitant
    from area_values as a
    inner join group_id as g on g.group_id = a.municipality_id
),

group_mean as (
    select a.year, a.area, avg(a.kr_per_inhabitant) as kr_per_inhabitant
    from area_values as a
    inner join comparison as c
        on c.municipality_id = a.municipality_id and c.role = 'jamforelsekommun'
    inner join group_id as g on g.group_id = c.group_id
    group by a.year, a.area
),

country as (
    select a.year, a.area, a.kr_per_inhabitant
    from area_values as a
    inner join comparison as c on c.municipality_id = a.municipality_id and c.role = 'riket'
),

inhabitants as (
    select v.year, v.inhabitants
    from values_by_year as v
    inner join comparison as c on c.municipality_id = v.municipality_id and c.role = 'hemkommun'
),

final_years as (
    select min(last_final_year) as last_final_year
    from {{ ref('stg_kolada__kpis') }}
    where kpi_id in ('N30005'{% for name, column, kpi in areas %}, '{{ kpi }}'{% endfor %})
),

combined as (
    select
        h.year,
        h.area,
        h.kr_per_inhabitant as kr_inv,
        coalesce(gp.kr_per_inhabitant, gm.kr_per_inhabitant) as kr_inv_grupp,
        r.kr_per_inhabitant as kr_inv_riket,
        i.inhabitants
    from home as h
    left join group_published as gp on gp.year = h.year and gp.area = h.area
    left join group_mean as gm on gm.year = h.year and gm.area = h.area
    left join country as r on r.year = h.year and r.area = h.area
    left join inhabitants as i on i.year = h.year
)

select
    {{ kommunkod() }} as kommunkod,
    cast(c.year as integer) as ar,
    c.area as omrade,
    cast(c.kr_inv as double) as kr_inv,
    -- A members' mean has decimals no reader needs: kronor per inhabitant to one decimal.
    cast(round(c.kr_inv_grupp, 1) as double) as kr_inv_grupp,
    cast(c.kr_inv_riket as double) as kr_inv_riket,
    cast(round(c.kr_inv - c.kr_inv_grupp, 1) as double) as skillnad_kr_inv,
    cast(round((c.kr_inv - c.kr_inv_grupp) * c.inhabitants / 1000000, 1) as double)
        as skillnad_mnkr,
    cast(round(c.kr_inv - p.kr_inv, 1) as double) as forandring_kr_inv,
    coalesce(c.year > f.last_final_year, false) as preliminar
from combined as c
left join combined as p on p.area = c.area and p.year = c.year - 1
cross join final_years as f
where c.kr_inv is not null
