select
    file_sha256,
    ar as fiscal_year,
    manad as fiscal_month,
    avsnitt as section,
    matt_levererat as delivered_measure,
    matt_id as measure_id,
    ratt_text as raw_text,
    varde as measure_value,
    andel as share,
    kapacitet as capacity
from {{ source('raw', 'volume_cells') }}
