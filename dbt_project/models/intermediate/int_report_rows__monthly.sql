-- Every row of every report, every month: the lines fed by units, a child report's total as
-- a line of its parent, the subtotal (before särskilda kostnader) and the total, with all the
-- base measures the result and deviation marts derive their columns from.
{%- set measures = [
    'allocation_ytd', 'net_cost_ytd', 'allocation_full_year', 'forecast_result',
    'previous_forecast_result', 'prior_year_result', 'prior_year_net_cost_ytd',
    'prior_year_net_cost_full_year',
] %}
with lines as (
    select * from {{ ref('int_report_lines__monthly') }}
),

reports as (
    select * from {{ ref('int_reports__by_year') }}
),

own_lines as (
    select
        fiscal_year, report_month, report_code, line_label, is_special_item, line_order,
        {{ measures | join(', ') }}
    from lines
),

-- A child report's total appears in each report above it as one line, titled as the child.
child_report_lines as (
    select
        l.fiscal_year,
        l.report_month,
        r.ancestor_parent_code as report_code,
        r.ancestor_title as line_label,
        false as is_special_item,
        r.ancestor_order_in_parent as line_order,
        {%- for m in measures %}
        sum(l.{{ m }}) as {{ m }}{{ ',' if not loop.last }}
        {%- endfor %}
    from lines as l
    inner join reports as r
        on r.fiscal_year = l.fiscal_year
        and r.descendant_code = l.report_code
    where r.ancestor_parent_code is not null
    group by
        l.fiscal_year, l.report_month, r.ancestor_parent_code, r.ancestor_title,
        r.ancestor_order_in_parent
),

ordinary_rows as (
    select * from own_lines
    union all
    select * from child_report_lines
),

report_labels as (
    select fiscal_year, ancestor_code as report_code, ancestor_total_label as total_label,
        ancestor_subtotal_label as subtotal_label
    from reports
    where ancestor_code = descendant_code
),

totals as (
    select
        o.fiscal_year,
        o.report_month,
        o.report_code,
        t.kind,
        case when t.kind = 'summa' then lab.total_label else lab.subtotal_label end as line_label,
        {%- for m in measures %}
        sum(o.{{ m }}) as {{ m }}{{ ',' if not loop.last }}
        {%- endfor %}
    from ordinary_rows as o
    inner join report_labels as lab
        on lab.fiscal_year = o.fiscal_year and lab.report_code = o.report_code
    -- summa: every line; delsumma (only where the report prints one): all but särskilda.
    inner join (select 'summa' as kind union all select 'delsumma' as kind) as t
        on t.kind = 'summa'
        or (lab.subtotal_label is not null and not o.is_special_item)
    group by o.fiscal_year, o.report_month, o.report_code, t.kind, lab.total_label,
        lab.subtotal_label
),

all_rows as (
    select
        fiscal_year, report_month, report_code, line_label, 'rad' as row_type,
        case when is_special_item then 3 else 1 end as print_block, line_order,
        {{ measures | join(', ') }}
    from ordinary_rows
    union all
    select
        fiscal_year, report_month, report_code, line_label, kind as row_type,
        case when kind = 'delsumma' then 2 else 4 end as print_block, 0 as line_order,
        {{ measures | join(', ') }}
    from totals
)

select
    fiscal_year,
    report_month,
    report_code,
    line_label,
    row_type,
    cast(row_number() over (
        partition by fiscal_year, report_month, report_code
        order by print_block, line_order, line_label
    ) as integer) as print_order,
    {{ measures | join(', ') }}
from all_rows
