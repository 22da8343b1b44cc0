select
    indikator_id as indicator_id,
    indikator as indicator_text,
    kalla_typ as source_kind,
    kalla_namn as source_name,
    berakning as calculation,
    mal as target,
    riktning as better_direction
from {{ source('raw', 'goal_indicators') }}
