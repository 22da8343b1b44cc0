-- Net cost per kind of cost (config/kostnadsslag.csv), report line and month: the report's
-- placement charts from the ledger. Every nettokostnad krona lands in one kind ('övrigt' when
-- no rule maps it), so a line's kinds add up to its net cost for the month.
with lines as (
    select * from {{ ref('stg_ledger__lines') }}
    where account_class in ({{ var('nettokostnad_account_classes') | join(', ') }})
),

kinds as (
    select * from {{ ref('int_ledger__cost_kinds') }}
),

unit_lines as (
    select * from {{ ref('int_report_structure__unit_lines') }}
)

select
    {{ kommunkod() }} as kommunkod,
    l.fiscal_year as ar,
    cast(floor((l.fiscal_month - 1) / 3) + 1 as integer) as kvartal,
    l.fiscal_month as manad,
    u.report_code as rapport,
    u.line_label as rapportrad,
    k.cost_kind as kostnadsslag,
    -- The report's sign: a cost is negative.
    cast(-sum(l.amount) as decimal(18, 2)) as nettokostnad
from lines as l
inner join kinds as k
    on k.account = l.account
    and k.activity is not distinct from l.activity
inner join unit_lines as u
    on u.fiscal_year = l.fiscal_year
    and u.responsibility_unit = l.responsibility_unit
group by l.fiscal_year, l.fiscal_month, u.report_code, u.line_label, k.cost_kind
