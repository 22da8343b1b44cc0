select
    matt_id as measure_id,
    avsnitt as section,
    matt as measure_name,
    enhet as unit,
    matttyp as measure_type,
    kostnad_rapport as cost_report_code,
    kostnad_rapportrad as cost_line_label
from {{ ref('matt_katalog') }}
