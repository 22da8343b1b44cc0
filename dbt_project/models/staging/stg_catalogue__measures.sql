select
    matt_id as measure_id,
    avsnitt as section,
    matt as measure_name,
    {{ seed_text('alias') }} as aliases,
    {{ seed_text('enhet') }} as unit,
    matttyp as measure_type,
    {{ seed_text('kostnad_rapport') }} as cost_report_code,
    {{ seed_text('kostnad_rapportrad') }} as cost_line_label
from {{ ref('matt_katalog') }}
