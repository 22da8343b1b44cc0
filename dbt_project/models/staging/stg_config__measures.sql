select
    atgard_id as measure_id,
    omrade as plan_area,
    atgard as measure_text,
    rapportrad as line_label,
    matt as driver_name,
    malforandring as target_change,
    enhetskostnad as unit_cost,
    baslinje_fran as baseline_from,
    baslinje_till as baseline_to,
    start as start_period
from {{ source('raw', 'measures') }}
