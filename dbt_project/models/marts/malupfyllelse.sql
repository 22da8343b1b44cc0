-- The committee's goal indicators per year and month: the outcome year to date through the
-- month, the target, the assessment and the trend (docs/inputs.md §9), so that a month's report
-- shows what was known through that month. A volume measure's year runs to the latest month
-- through `manad` that has a value, and is compared with the same months of the year before.
with indicators as (
    select
        i.*,
        n.measure_id,
        n.measure_type
    from {{ ref('stg_config__goal_indicators') }} as i
    left join {{ ref('int_catalogue__measure_names') }} as n
        on i.source_kind = 'verksamhetsmatt' and n.name_key = lower(trim(i.source_name))
),

volumes as (
    select measure_id, fiscal_year, fiscal_month, measure_value
    from {{ ref('stg_volumes__cells') }}
    where measure_id is not null and measure_value is not null
),

-- The months a report can be made for: every month with ledger or volume data.
data_months as (
    select distinct fiscal_year, fiscal_month
    from {{ ref('int_finance__unit_months') }}
    where net_cost is not null
    union
    select distinct fiscal_year, fiscal_month
    from {{ ref('stg_volumes__cells') }}
    where measure_value is not null or share is not null
),

-- A volume indicator has a row for each such month of a year its measure has values in.
volume_spine as (
    select i.indicator_id, i.measure_id, i.measure_type, m.fiscal_year as year,
        m.fiscal_month as month
    from indicators as i
    inner join (select distinct measure_id, fiscal_year from volumes) as y
        on y.measure_id = i.measure_id
    inner join data_months as m on m.fiscal_year = y.fiscal_year
),

-- Year to date through the month: the months through it that have a value this year.
volume_through as (
    select
        s.indicator_id,
        s.year,
        s.month,
        max(v.fiscal_month) as last_month,
        count(v.fiscal_month) as months
    from volume_spine as s
    left join volumes as v
        on v.measure_id = s.measure_id
        and v.fiscal_year = s.year
        and v.fiscal_month <= s.month
    group by s.indicator_id, s.year, s.month
),

-- This year's months through the last with a value, and the same months of last year: a
-- stock averages, a flow sums.
volume_values as (
    select
        s.indicator_id,
        s.year,
        s.month,
        t.months,
        case when s.measure_type = 'flow' then sum(case when v.fiscal_year = s.year
                then v.measure_value end)
            else avg(case when v.fiscal_year = s.year then v.measure_value end)
        end as year_value,
        case when s.measure_type = 'flow' then sum(case when v.fiscal_year = s.year - 1
                then v.measure_value end)
            else avg(case when v.fiscal_year = s.year - 1 then v.measure_value end)
        end as previous_value
    from volume_spine as s
    inner join volume_through as t
        on t.indicator_id = s.indicator_id and t.year = s.year and t.month = s.month
    left join volumes as v
        on v.measure_id = s.measure_id
        and v.fiscal_year in (s.year, s.year - 1)
        and v.fiscal_month <= t.last_month
    group by s.indicator_id, s.year, s.month, t.months, s.measure_type
),

home as (
    select setting_value as municipality_id
    from {{ ref('stg_kolada__config') }}
    where setting = 'home_municipality'
),

kolada as (
    select v.kpi_id, v.year, v.kpi_value
    from {{ ref('stg_kolada__values') }} as v
    inner join home as h on h.municipality_id = v.municipality_id
    where v.gender = 'T' and v.kpi_value is not null
),

-- A Kolada value is the year's: the same on every month of the year with data (December for
-- a year without). Across a method break (N30001 before 2019) the previous year's value is
-- still the one compared with, as seed 000 compares 2018 with 2019.
kolada_values as (
    select
        i.indicator_id,
        k.year,
        coalesce(m.fiscal_month, 12) as month,
        12 as months,
        k.kpi_value as year_value,
        p.kpi_value as previous_value
    from indicators as i
    inner join kolada as k on i.source_kind = 'kolada' and k.kpi_id = upper(i.source_name)
    left join kolada as p on p.kpi_id = k.kpi_id and p.year = k.year - 1
    left join data_months as m on m.fiscal_year = k.year
),

to_date as (
    select * from volume_values
    union all
    select * from kolada_values
),

outcomes as (
    select
        y.indicator_id,
        y.year,
        y.month,
        y.months,
        y.year_value,
        y.previous_value,
        case when i.calculation = 'varde' then y.year_value
            when y.previous_value <> 0
                then (y.year_value - y.previous_value) / abs(y.previous_value) * 100
        end as outcome
    from to_date as y
    inner join indicators as i on i.indicator_id = y.indicator_id
),

-- Last year's outcome as it stood at its last month: what "better than last year" means.
year_end as (
    select indicator_id, year, outcome
    from (
        select
            indicator_id,
            year,
            outcome,
            row_number() over (partition by indicator_id, year order by month desc) as latest
        from outcomes
    ) as ranked
    where latest = 1
)

select
    {{ kommunkod() }} as kommunkod,
    i.indicator_id as indikator_id,
    o.year as ar,
    o.month as manad,
    i.indicator_text as indikator,
    i.source_kind || ':' || i.source_name as kalla,
    i.calculation as berakning,
    -- Unrounded: the target is met or not by the outcome itself; rounding is the report's.
    cast(o.outcome as double) as utfall,
    cast(i.target as double) as mal,
    i.better_direction as riktning,
    case
        when o.outcome is null then null
        when (i.better_direction = 'lagre' and o.outcome <= i.target)
            or (i.better_direction = 'hogre' and o.outcome >= i.target)
            then 'uppfyllt'
        when (i.better_direction = 'lagre' and o.outcome < p.outcome)
            or (i.better_direction = 'hogre' and o.outcome > p.outcome)
            then 'delvis uppfyllt'
        else 'ej uppfyllt'
    end as bedomning,
    case
        when o.year_value is null or o.previous_value is null then null
        when o.year_value > o.previous_value then 'ökat'
        when o.year_value < o.previous_value then 'minskat'
        else 'oförändrat'
    end as trend,
    cast(o.months as integer) as manader
from outcomes as o
inner join indicators as i on i.indicator_id = o.indicator_id
left join year_end as p on p.indicator_id = o.indicator_id and p.year = o.year - 1
