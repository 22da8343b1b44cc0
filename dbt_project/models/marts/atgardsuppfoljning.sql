-- Is each measure of the improvement plan delivering, and what is it worth? Per measure and
-- month from its Start: its latest reported status, its driver's baseline and outcome, and the
-- saving a year the change is worth against the saving its target is worth (docs/inputs.md §8).
with measures as (
    select
        m.*,
        n.measure_id as driver_id,
        n.measure_type as driver_type,
        -- A flow (cases a month) is worth its unit cost each time, twelve times a year.
        case when n.measure_type = 'flow' then 12 else 1 end as per_year
    from {{ ref('stg_config__measures') }} as m
    left join {{ ref('int_catalogue__measure_names') }} as n
        on n.name_key = lower(trim(m.driver_name))
),

volumes as (
    select fiscal_year * 100 + fiscal_month as period, measure_id, measure_value
    from {{ ref('stg_volumes__cells') }}
    where measure_id is not null and measure_value is not null
),

-- The months followed: from the measure's Start through the latest month anything (a volume
-- count, a status, a ledger month) was delivered for.
known_periods as (
    select fiscal_year * 100 + fiscal_month as period from {{ ref('stg_volumes__cells') }}
    union
    select status_period from {{ ref('stg_config__measure_status') }}
    union
    select fiscal_year * 100 + fiscal_month from {{ ref('stg_ledger__lines') }}
),

measure_months as (
    select m.measure_id, p.period
    from measures as m
    inner join known_periods as p on p.period >= m.start_period
),

baselines as (
    select m.measure_id, avg(v.measure_value) as baseline
    from measures as m
    inner join volumes as v
        on v.measure_id = m.driver_id
        and v.period between m.baseline_from and m.baseline_to
    group by m.measure_id
),

outcomes as (
    select mm.measure_id, mm.period, avg(v.measure_value) as outcome
    from measure_months as mm
    inner join measures as m on m.measure_id = mm.measure_id
    inner join volumes as v
        on v.measure_id = m.driver_id
        and v.period between m.start_period and mm.period
    group by mm.measure_id, mm.period
),

statuses as (
    select
        mm.measure_id,
        mm.period,
        s.status,
        s.status_comment,
        row_number() over (
            partition by mm.measure_id, mm.period order by s.status_period desc
        ) as latest
    from measure_months as mm
    inner join {{ ref('stg_config__measure_status') }} as s
        on s.measure_id = mm.measure_id and s.status_period <= mm.period
),

report_lines as (
    select fiscal_year * 100 + report_month as period, line_label, net_cost_ytd,
        prior_year_net_cost_ytd
    from {{ ref('int_report_rows__monthly') }}
    where report_code = '{{ var("ifo_report_code") }}'
),

effects as (
    select
        mm.measure_id,
        mm.period,
        b.baseline,
        o.outcome,
        o.outcome - b.baseline as change,
        -(o.outcome - b.baseline) * m.unit_cost * m.per_year as effect_per_year,
        -m.target_change * m.unit_cost * m.per_year as target_effect_per_year
    from measure_months as mm
    inner join measures as m on m.measure_id = mm.measure_id
    left join baselines as b on b.measure_id = mm.measure_id
    left join outcomes as o on o.measure_id = mm.measure_id and o.period = mm.period
)

select
    {{ kommunkod() }} as kommunkod,
    m.measure_id as atgard_id,
    cast(floor(e.period / 100) as integer) as ar,
    cast(mod(e.period, 100) as integer) as manad,
    m.plan_area as omrade,
    m.measure_text as atgard,
    m.line_label as rapportrad,
    s.status,
    s.status_comment as kommentar,
    m.driver_id as matt_id,
    m.driver_name as matt,
    cast(e.baseline as double) as baslinje,
    cast(e.outcome as double) as utfall,
    cast(e.change as double) as forandring,
    cast(round(e.effect_per_year, 0) as decimal(18, 0)) as effekt_kr_per_ar,
    cast(round(e.target_effect_per_year, 0) as decimal(18, 0)) as maleffekt_kr_per_ar,
    cast(
        case when e.target_effect_per_year <> 0
            then e.effect_per_year / e.target_effect_per_year end
        as double
    ) as andel_av_mal,
    cast(r.net_cost_ytd as decimal(18, 2)) as nettokostnad_ack,
    cast(r.prior_year_net_cost_ytd as decimal(18, 2)) as nettokostnad_ack_fg_ar
from effects as e
inner join measures as m on m.measure_id = e.measure_id
left join statuses as s
    on s.measure_id = e.measure_id and s.period = e.period and s.latest = 1
left join report_lines as r
    on r.period = e.period and r.line_label = m.line_label
