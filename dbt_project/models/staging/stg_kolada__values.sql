select
    kpi as kpi_id,
    municipality as municipality_id,
    period as year,
    gender,
    value as kpi_value,
    count as member_count,
    status,
    isdeleted as is_deleted
from {{ source('raw', 'kolada_values') }}
