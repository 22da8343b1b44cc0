select
    giltig_fran as valid_from_year,
    coalesce(giltig_till, 9999) as valid_to_year,
    ansvar_fran as unit_from,
    ansvar_till as unit_to,
    rapport as report_code,
    rapportrad as line_label,
    sarskild as is_special_item,
    ordning as line_order
from {{ source('raw', 'report_structure') }}
