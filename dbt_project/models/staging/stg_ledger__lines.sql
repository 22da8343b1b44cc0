select
    file_sha256,
    line_number,
    cast(floor(period / 100) as integer) as fiscal_year,
    cast(mod(period, 100) as integer) as fiscal_month,
    ansvar as responsibility_unit,
    konto as account,
    cast(substring(konto, 1, 1) as integer) as account_class,
    verksamhet as activity,
    motpart as counterparty,
    cast(belopp as decimal(18, 2)) as amount,
    verifikation as voucher,
    bokforingsdatum as booking_date,
    text as description
from {{ source('raw', 'ledger_lines') }}
