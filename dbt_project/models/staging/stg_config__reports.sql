select
    giltig_fran as valid_from_year,
    coalesce(giltig_till, 9999) as valid_to_year,
    rapport as report_code,
    rubrik as report_title,
    summarad as total_label,
    delsummarad as subtotal_label,
    ingar_i as parent_report_code,
    ordning as order_in_parent
from {{ source('raw', 'reports') }}
