-- The kind of cost of each (account, verksamhet) the ledger holds: the most specific rule of
-- config/kostnadsslag.csv that matches (account and verksamhet over one of them, then more
-- leading digits, then the narrower range, then the earlier line); 'övrigt' when none does.
with pairs as (
    select distinct account, activity from {{ ref('stg_ledger__lines') }}
),

rules as (
    select * from {{ ref('stg_config__cost_kinds') }}
),

matches as (
    select
        p.account,
        p.activity,
        r.cost_kind,
        row_number() over (
            partition by p.account, p.activity
            order by
                case when r.account_from is not null and r.activity_from is not null
                    then 0 else 1 end,
                coalesce(length(r.account_from), 0) + coalesce(length(r.activity_from), 0) desc,
                coalesce(cast(r.account_to as bigint) - cast(r.account_from as bigint), 0)
                    + coalesce(cast(r.activity_to as bigint) - cast(r.activity_from as bigint), 0),
                r.file_sha256,
                r.line_number
        ) as preference
    from pairs as p
    inner join rules as r
        on (
            r.account_from is null
            or cast(substring(p.account, 1, length(r.account_from)) as bigint)
                between cast(r.account_from as bigint) and cast(r.account_to as bigint)
        )
        and (
            r.activity_from is null
            or cast(substring(p.activity, 1, length(r.activity_from)) as bigint)
                between cast(r.activity_from as bigint) and cast(r.activity_to as bigint)
        )
        -- A code shorter than the rule cannot lie in it ("4" is not in 46).
        and (r.account_from is null or length(p.account) >= length(r.account_from))
        and (r.activity_from is null or length(p.activity) >= length(r.activity_from))
)

select
    p.account,
    p.activity,
    coalesce(m.cost_kind, '{{ var("cost_kind_unmapped") }}') as cost_kind
from pairs as p
left join matches as m
    on m.account = p.account
    and m.activity is not distinct from p.activity
    and m.preference = 1
