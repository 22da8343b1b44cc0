-- Every way a controller may name a volume measure (its id, its printed name, each alias of
-- the catalogue's `alias`, separated by |), normalised, with the measures the name can mean.
-- A name with more than one measure is ambiguous and resolves to none.
{% set max_aliases = 5 %}
with catalogue as (
    select * from {{ ref('stg_catalogue__measures') }}
),

names as (
    select lower(trim(measure_id)) as name_key, measure_id from catalogue
    union
    select lower(trim(measure_name)), measure_id from catalogue
    {% for i in range(1, max_aliases + 1) %}
    union
    select lower(trim({{ dbt.split_part('aliases', "'|'", i) }})), measure_id
    from catalogue
    where aliases is not null
        and trim({{ dbt.split_part('aliases', "'|'", i) }}) <> ''
    {% endfor %}
),

counted as (
    select name_key, count(distinct measure_id) as measures, min(measure_id) as measure_id
    from names
    where name_key is not null
    group by name_key
)

select
    c.name_key,
    c.measures,
    case when c.measures = 1 then c.measure_id end as measure_id,
    m.measure_type
from counted as c
left join catalogue as m
    on c.measures = 1 and m.measure_id = c.measure_id
