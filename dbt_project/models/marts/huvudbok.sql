-- Every loaded ledger line in the report's terms: the transactions behind each figure, down to
-- the delivered file and line. A line whose unit no report line holds is kept (rapport NULL).
with lines as (
    select * from {{ ref('stg_ledger__lines') }}
),

unit_lines as (
    select * from {{ ref('int_report_structure__unit_lines') }}
),

files as (
    select * from {{ ref('stg_ops__loaded_files') }}
)

select
    l.fiscal_year as ar,
    l.fiscal_month as manad,
    u.report_code as rapport,
    u.line_label as rapportrad,
    l.responsibility_unit as ansvar,
    l.account as konto,
    l.activity as verksamhet,
    l.counterparty as motpart,
    -- The report's sign: a cost is negative (the ledger books it as a positive debit).
    cast(-l.amount as decimal(18, 2)) as belopp,
    l.account_class in ({{ var('nettokostnad_account_classes') | join(', ') }})
        as raknas_i_nettokostnad,
    l.voucher as verifikation,
    l.booking_date as bokforingsdatum,
    l.description as text,
    f.file_name as fil,
    cast(l.line_number as integer) as rad
from lines as l
left join unit_lines as u
    on u.fiscal_year = l.fiscal_year
    and u.responsibility_unit = l.responsibility_unit
left join files as f
    on f.file_sha256 = l.file_sha256
