select
    id as kpi_id,
    title as kpi_title,
    cast(publ_period as integer) as last_final_year,
    prel_publication_date
from {{ source('raw', 'kolada_kpis') }}
