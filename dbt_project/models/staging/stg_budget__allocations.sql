select
    file_sha256,
    line_number,
    cast(floor(period / 100) as integer) as fiscal_year,
    cast(mod(period, 100) as integer) as fiscal_month,
    ansvar as responsibility_unit,
    verksamhet as activity,
    cast(kommunbidrag as decimal(18, 2)) as allocation
from {{ source('raw', 'budget_lines') }}
