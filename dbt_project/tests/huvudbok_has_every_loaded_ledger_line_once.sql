-- marts.huvudbok is one row per loaded ledger line: no line lost, none doubled by the joins.
select h.n, l.n
from (select count(*) as n from {{ ref('huvudbok') }}) as h
cross join (select count(*) as n from {{ ref('stg_ledger__lines') }}) as l
where h.n <> l.n
