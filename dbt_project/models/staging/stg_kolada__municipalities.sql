select id as municipality_id, title as municipality_name, type as municipality_type
from {{ source('raw', 'kolada_municipalities') }}
