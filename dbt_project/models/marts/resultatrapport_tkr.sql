{{ config(materialized='view') }}
-- The result report as printed: whole tkr, each figure rounded on its own.
select
    kommunkod,
    ar,
    manad,
    rapport,
    rapportrad,
    radtyp,
    ordning,
    cast(round(kommunbidrag_ack / 1000, 0) as integer) as kommunbidrag_ack_tkr,
    cast(round(nettokostnad_ack / 1000, 0) as integer) as nettokostnad_ack_tkr,
    cast(round(nettoresultat_ack / 1000, 0) as integer) as nettoresultat_ack_tkr,
    cast(round(kommunbidrag_helar / 1000, 0) as integer) as kommunbidrag_helar_tkr,
    cast(round(arsprognos / 1000, 0) as integer) as arsprognos_tkr,
    cast(round(forandring_mot_fg_prognos / 1000, 0) as integer) as forandring_mot_fg_prognos_tkr,
    cast(round(helar_fg_ar / 1000, 0) as integer) as helar_fg_ar_tkr
from {{ ref('resultatrapport') }}
