-- Every loaded ledger line in the report's terms: the transactions behind each figure, down to
-- the delivered file and line. A line whose unit no report line holds is kept (rapport NULL).
--
-- Incremental on DuckDB: a night rebuilds only the months whose rows changed, found from the
-- data itself (below), so a night that lands one month writes one month of the ten million
-- lines. The ifo_dbt_models step builds it whole (--full-refresh) when the project's code
-- changed (ifo_pipeline/incremental.py). On Spark, plain Parquet tables cannot delete a month:
-- there it is rebuilt whole, as a table.
{{ config(
    materialized=('table' if target.type == 'spark' else 'incremental'),
    incremental_strategy='delete+insert',
    unique_key=['ar', 'manad'],
    on_schema_change='fail',
    pre_hook="
        {% if is_incremental() %}
        -- a month whose every line a corrected file rejected holds no rows now: none left
        delete from {{ this }}
        where ar * 100 + manad not in (
            select distinct fiscal_year * 100 + fiscal_month from {{ ref('stg_ledger__lines') }}
        )
        {% endif %}"
) }}

with lines as (
    select * from {{ ref('stg_ledger__lines') }}
),

unit_lines as (
    select * from {{ ref('int_report_structure__unit_lines') }}
),

files as (
    select * from {{ ref('stg_ops__loaded_files') }}
),

{% if is_incremental() %}

-- What each month holds now, and what this table was built from: rows per delivered file.
-- A new month, a corrected month (another file) and a month reloaded with rows rejected all
-- show as a difference. (The staged lines are read by ref, not through the `lines` CTE: a CTE
-- read more than once is materialised whole by DuckDB, every column of ten million lines.)
delivered as (
    select fiscal_year as ar, fiscal_month as manad, file_sha256 as fil_sha256, count(*) as rader
    from {{ ref('stg_ledger__lines') }}
    group by fiscal_year, fiscal_month, file_sha256
),

built as (
    select ar, manad, fil_sha256, count(*) as rader
    from {{ this }}
    group by ar, manad, fil_sha256
),

-- The report line of each unit, now and as built: a changed report structure rebuilds the
-- months of the years it changed. (A unit new to a year changes no month already built.)
mapped_now as (
    select distinct u_l.fiscal_year as ar, u_l.responsibility_unit as ansvar,
        u.report_code as rapport, u.line_label as rapportrad
    from (
        select distinct fiscal_year, responsibility_unit from {{ ref('stg_ledger__lines') }}
    ) as u_l
    left join unit_lines as u
        on u.fiscal_year = u_l.fiscal_year
        and u.responsibility_unit = u_l.responsibility_unit
),

mapped_built as (
    select distinct ar, ansvar, rapport, rapportrad
    from {{ this }}
),

restructured_years as (
    select distinct b.ar
    from mapped_built as b
    inner join mapped_now as n
        on n.ar = b.ar
        and n.ansvar = b.ansvar
    where coalesce(n.rapport, '') <> coalesce(b.rapport, '')
        or coalesce(n.rapportrad, '') <> coalesce(b.rapportrad, '')
),

changed_months as (
    select ar, manad from (
        select * from delivered
        except
        select * from built
    ) as differing
    union
    select ar, manad from delivered
    where ar in (select ar from restructured_years)
),

{% endif %}

selected_lines as (
    select l.*
    from lines as l
    {% if is_incremental() %}
    inner join changed_months as c
        on c.ar = l.fiscal_year
        and c.manad = l.fiscal_month
    {% endif %}
)

select
    {{ kommunkod() }} as kommunkod,
    l.fiscal_year as ar,
    l.fiscal_month as manad,
    u.report_code as rapport,
    u.line_label as rapportrad,
    l.responsibility_unit as ansvar,
    l.account as konto,
    l.activity as verksamhet,
    l.counterparty as motpart,
    -- The report's sign: a cost is negative (the ledger books it as a positive debit).
    cast(-l.amount as decimal(18, 2)) as belopp,
    l.account_class in ({{ var('nettokostnad_account_classes') | join(', ') }})
        as raknas_i_nettokostnad,
    l.voucher as verifikation,
    l.booking_date as bokforingsdatum,
    l.description as text,
    f.file_name as fil,
    cast(l.line_number as integer) as rad,
    l.file_sha256 as fil_sha256
from selected_lines as l
left join unit_lines as u
    on u.fiscal_year = l.fiscal_year
    and u.responsibility_unit = l.responsibility_unit
left join files as f
    on f.file_sha256 = l.file_sha256
