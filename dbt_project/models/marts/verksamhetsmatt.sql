-- Volume counts per month and measure, against the same month of the previous year.
with cells as (
    select c.*, m.measure_name, m.measure_type
    from {{ ref('stg_volumes__cells') }} as c
    inner join {{ ref('stg_catalogue__measures') }} as m on m.measure_id = c.measure_id
)

select
    {{ kommunkod() }} as kommunkod,
    cur.fiscal_year as ar,
    cur.fiscal_month as manad,
    cur.section as avsnitt,
    cur.measure_id as matt_id,
    cur.measure_name as matt,
    cur.measure_type as matttyp,
    cur.measure_value as varde,
    cur.share as andel,
    cur.capacity as kapacitet,
    cur.raw_text as ratt_text,
    prev.measure_value as varde_fg_ar,
    prev.share as andel_fg_ar,
    prev.raw_text as ratt_text_fg_ar,
    -- Like with like only: a share against last year's share, in percentage points ("100 %
    -- (15 st)" against "90 % (18 st)" is +10, not the counts' −16,7 %); a count against a
    -- count in per cent; a share against a plain count is no change at all.
    case
        when cur.share is not null and prev.share is not null
            then round((cur.share - prev.share) * 100, 1)
        when cur.share is null and prev.share is null and prev.measure_value <> 0
            then round((cur.measure_value - prev.measure_value) * 100.0 / prev.measure_value, 1)
    end as forandring_fg_ar_pct
from cells as cur
left join cells as prev
    on prev.measure_id = cur.measure_id
    and prev.fiscal_year = cur.fiscal_year - 1
    and prev.fiscal_month = cur.fiscal_month
