select
    manad as status_period,
    atgard_id as measure_id,
    status,
    kommentar as status_comment
from {{ source('raw', 'measure_status') }}
