-- Who is compared: the home municipality, each member of its comparison groups, the groups
-- themselves, and the country.
with config as (
    select * from {{ ref('stg_kolada__config') }}
),

members as (
    select g.group_id, g.group_title, g.member_id, g.member_title
    from {{ ref('stg_kolada__group_members') }} as g
    inner join config as c
        on c.setting = 'comparison_group' and c.setting_value = g.group_id
)

select c.setting_value as municipality_id, 'hemkommun' as role,
    cast(null as {{ dbt.type_string() }}) as group_id
from config as c where c.setting = 'home_municipality'
union all
select distinct m.member_id, 'jamforelsekommun', m.group_id
from members as m
where m.member_id not in (select setting_value from config where setting = 'home_municipality')
union all
select c.setting_value, 'grupp', c.setting_value
from config as c where c.setting = 'comparison_group'
union all
select c.setting_value, 'riket', cast(null as {{ dbt.type_string() }})
from config as c where c.setting = 'country'
