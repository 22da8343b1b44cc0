select
    file_sha256,
    line_number,
    konto_fran as account_from,
    konto_till as account_to,
    verksamhet_fran as activity_from,
    verksamhet_till as activity_to,
    kostnadsslag as cost_kind
from {{ source('raw', 'cost_kinds') }}
