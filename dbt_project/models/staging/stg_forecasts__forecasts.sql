select
    file_sha256,
    line_number,
    cast(floor(prognosmanad / 100) as integer) as fiscal_year,
    cast(mod(prognosmanad, 100) as integer) as forecast_month,
    ansvar as responsibility_unit,
    cast(prognos as decimal(18, 2)) as forecast_result
from {{ source('raw', 'forecast_lines') }}
