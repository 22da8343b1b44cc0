-- The committee's goal indicators per year: the outcome, the target, the assessment and the
-- trend (INPUTS.md §9). A volume measure's year runs to the latest month it has a value
-- (year to date), and is compared with the same months of the year before.
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

volume_years as (
    select measure_id, fiscal_year, max(fiscal_month) as last_month, count(*) as months
    from volumes
    group by measure_id, fiscal_year
),

-- This year's months and the same months of last year: a stock averages, a flow sums.
volume_values as (
    select
        i.indicator_id,
        y.fiscal_year as year,
        y.months,
        case when i.measure_type = 'flow' then sum(case when v.fiscal_year = y.fiscal_year
                then v.measure_value end)
            else avg(case when v.fiscal_year = y.fiscal_year then v.measure_value end)
        end as year_value,
        case when i.measure_type = 'flow' then sum(case when v.fiscal_year = y.fiscal_year - 1
                then v.measure_value end)
            else avg(case when v.fiscal_year = y.fiscal_year - 1 then v.measure_value end)
        end as previous_value
    from indicators as i
    inner join volume_years as y on y.measure_id = i.measure_id
    inner join volumes as v
        on v.measure_id = i.measure_id
        and v.fiscal_year in (y.fiscal_year, y.fiscal_year - 1)
        and v.fiscal_month <= y.last_month
    group by i.indicator_id, y.fiscal_year, y.months, i.measure_type
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

-- Across a method break (N30001 before 2019) the previous year's value is still the one
-- compared with, as seed 000 compares 2018 with 2019.
kolada_values as (
    select
        i.indicator_id,
        k.year,
        12 as months,
        k.kpi_value as year_value,
        p.kpi_value as previous_value
    from indicators as i
    inner join kolada as k on i.source_kind = 'kolada' and k.kpi_id = upper(i.source_name)
    left join kolada as p on p.kpi_id = k.kpi_id and p.year = k.year - 1
),

yearly as (
    select * from volume_values
    union all
    select * from kolada_values
),

outcomes as (
    select
        y.indicator_id,
        y.year,
        y.months,
        y.year_value,
        y.previous_value,
        case when i.calculation = 'varde' then y.year_value
            when y.previous_value <> 0
                then (y.year_value - y.previous_value) / abs(y.previous_value) * 100
        end as outcome
    from yearly as y
    inner join indicators as i on i.indicator_id = y.indicator_id
),

assessed as (
    select
        o.*,
        lag(o.outcome) over (partition by o.indicator_id order by o.year) as previous_outcome,
        lag(o.year) over (partition by o.indicator_id order by o.year) as previous_year
    from outcomes as o
)

select
    i.indicator_id as indikator_id,
    a.year as ar,
    i.indicator_text as indikator,
    i.source_kind || ':' || i.source_name as kalla,
    i.calculation as berakning,
    cast(round(a.outcome, 1) as double) as utfall,
    cast(i.target as double) as mal,
    i.better_direction as riktning,
    case
        when a.outcome is null then null
        when (i.better_direction = 'lagre' and round(a.outcome, 1) <= i.target)
            or (i.better_direction = 'hogre' and round(a.outcome, 1) >= i.target)
            then 'uppfyllt'
        when a.previous_year = a.year - 1 and (
            (i.better_direction = 'lagre' and a.outcome < a.previous_outcome)
            or (i.better_direction = 'hogre' and a.outcome > a.previous_outcome))
            then 'delvis uppfyllt'
        else 'ej uppfyllt'
    end as bedomning,
    case
        when a.year_value is null or a.previous_value is null then null
        when a.year_value > a.previous_value then 'ökat'
        when a.year_value < a.previous_value then 'minskat'
        else 'oförändrat'
    end as trend,
    cast(a.months as integer) as manader
from assessed as a
inner join indicators as i on i.indicator_id = a.indicator_id
