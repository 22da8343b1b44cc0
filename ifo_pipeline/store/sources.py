"""Every raw table, declared once: the landed CSV sources of docs/inputs.md sections 1–4, 8 and 9
and the cost kinds with their parsing rules, and the tables the volume-count and Kolada loaders
write.

Field values are available to the SQL as `c_<column>` (trimmed, unquoted, NULL when empty).
Reasons are SQL text expressions so that a reject names the value that broke the rule.
"""

from __future__ import annotations

from pathlib import Path

from ifo_pipeline.store.declarations import (
    Check,
    Column,
    CsvSource,
    LandedSource,
    RawColumn,
    RawTable,
)


def _code(column: str, field: str, digits: str, optional: bool = False) -> Check:
    bad = f"NOT regexp_full_match(coalesce({field}, ''), '[0-9]{{{digits}}}')"
    if optional:
        bad = f"{field} IS NOT NULL AND {bad}"
    return Check(
        bad,
        f"'{column} ''' || coalesce({field}, '') || ''' is not a code of "
        f"{digits.replace(',', '–')} digits'",
    )


def _amount(column: str, field: str, target: str) -> tuple[Check, Check]:
    """The two ways an amount fails, judged only where `target` (the parsed amount) is NULL:
    the text rules are the costly part of a parse, and nearly every amount is good."""
    return (
        Check(
            f"CASE WHEN {target} IS NULL THEN sv_amount_text({field}) IS NULL END",
            f"'{column} ''' || coalesce({field}, '') || ''' is not an amount in SEK "
            "(Swedish format, at most two decimals)'",
        ),
        Check(
            f"CASE WHEN {target} IS NULL THEN sv_amount_text({field}) IS NOT NULL END",
            f"'{column} ''' || {field} || ''': belopp utanför giltigt intervall "
            "(högst 999 999 999 999,99 kr)'",
        ),
    )


def _month(column: str, field: str) -> Check:
    return Check(
        f"yyyymm({field}) IS NULL",
        f"'{column} ''' || coalesce({field}, '') || ''' is not a month YYYYMM'",
    )


def _year(column: str, field: str, optional: bool = False) -> Check:
    bad = f"yyyy({field}) IS NULL"
    if optional:
        bad = f"{field} IS NOT NULL AND {bad}"
    return Check(bad, f"'{column} ''' || coalesce({field}, '') || ''' is not a year YYYY'")


def _valid_years() -> Check:
    return Check(
        "giltig_till < giltig_fran",
        "'GiltigTill ' || c_giltigtill || ' is before GiltigFran ' || c_giltigfran",
    )


def _required_text(column: str, field: str) -> Check:
    return Check(f"{field} IS NULL", f"'{column} is empty'")


# The export's trailing control total: 'Summa' or 'Totalt' in an empty Period field or in it.
TOTAL_ROW = (
    "CASE WHEN c_period IS NULL OR lower(c_period) IN ('summa', 'totalt', 'total') "
    "THEN regexp_matches(lower(raw), '(summa|totalt)') ELSE false END"
)

LEDGER = CsvSource(
    name="ledger",
    folder="ledger",
    patterns=("*.csv",),
    table="raw.ledger_lines",
    columns=(
        "Period",
        "Ansvar",
        "Konto",
        "Verksamhet",
        "Aktivitet",
        "Projekt",
        "Motpart",
        "Belopp",
        "Verifikation",
        "Bokforingsdatum",
        "Text",
    ),
    optional=frozenset(
        {"Aktivitet", "Projekt", "Motpart", "Verifikation", "Bokforingsdatum", "Text"}
    ),
    select={
        "period": RawColumn("yyyymm(c_period)", "INTEGER", required=True),
        "ansvar": RawColumn("c_ansvar", "VARCHAR", required=True),
        "konto": RawColumn("c_konto", "VARCHAR", required=True),
        "verksamhet": RawColumn("c_verksamhet", "VARCHAR", required=True),
        "aktivitet": RawColumn("c_aktivitet", "VARCHAR"),
        "projekt": RawColumn("c_projekt", "VARCHAR"),
        "motpart": RawColumn("c_motpart", "VARCHAR"),
        "belopp": RawColumn("sv_amount(c_belopp)", "DECIMAL(18, 2)", required=True),
        "verifikation": RawColumn("c_verifikation", "VARCHAR"),
        "bokforingsdatum": RawColumn("try_strptime(c_bokforingsdatum, '%Y-%m-%d')::DATE", "DATE"),
        # Free text may name a client: it is read from the masked archived copy (privacy/).
        "text": RawColumn("c_text", "VARCHAR"),
    },
    checks=(
        _month("Period", "c_period"),
        _code("Ansvar", "c_ansvar", "4,6"),
        _code("Konto", "c_konto", "4,5"),
        _code("Verksamhet", "c_verksamhet", "3,5"),
        _code("Motpart", "c_motpart", "1,3", optional=True),
        *_amount("Belopp", "c_belopp", "belopp"),
        Check(
            "c_bokforingsdatum IS NOT NULL AND bokforingsdatum IS NULL",
            "'Bokforingsdatum ''' || c_bokforingsdatum || ''' is not a date YYYY-MM-DD'",
        ),
    ),
    replace_key="period",
    amount="belopp",
    # 'Summa'/'Totalt' with no period: the export's control total, not a transaction.
    total_row=TOTAL_ROW,
    period_column="period",
    file_year_from="latest_period",
)

BUDGET = CsvSource(
    name="budget",
    folder="budget",
    patterns=("*.csv",),
    table="raw.budget_lines",
    columns=("Period", "Ansvar", "Verksamhet", "Kommunbidrag"),
    optional=frozenset({"Verksamhet"}),
    select={
        "period": RawColumn("yyyymm(c_period)", "INTEGER", required=True),
        "ansvar": RawColumn("c_ansvar", "VARCHAR", required=True),
        "verksamhet": RawColumn("c_verksamhet", "VARCHAR"),
        "kommunbidrag": RawColumn("sv_amount(c_kommunbidrag)", "DECIMAL(18, 2)", required=True),
    },
    checks=(
        _month("Period", "c_period"),
        _code("Ansvar", "c_ansvar", "4,6"),
        _code("Verksamhet", "c_verksamhet", "3,5", optional=True),
        *_amount("Kommunbidrag", "c_kommunbidrag", "kommunbidrag"),
    ),
    # A budget file covers one year and replaces that year (budget revisions).
    replace_key="period // 100",
    amount="kommunbidrag",
    total_row=TOTAL_ROW,
    period_column="period",
    file_year_from="name",
)

FORECASTS = CsvSource(
    name="forecasts",
    folder="prognos",
    patterns=("*.csv",),
    table="raw.forecast_lines",
    columns=("Prognosmanad", "Ansvar", "Prognos"),
    optional=frozenset(),
    select={
        "prognosmanad": RawColumn("yyyymm(c_prognosmanad)", "INTEGER", required=True),
        "ansvar": RawColumn("c_ansvar", "VARCHAR", required=True),
        "prognos": RawColumn("sv_amount(c_prognos)", "DECIMAL(18, 2)", required=True),
    },
    checks=(
        _month("Prognosmanad", "c_prognosmanad"),
        _code("Ansvar", "c_ansvar", "4,6"),
        *_amount("Prognos", "c_prognos", "prognos"),
    ),
    # Forecasts are history: a file replaces only the forecast months it holds.
    replace_key="prognosmanad",
    period_column="prognosmanad",
    # One forecast per unit and month: two would be added up into a wrong total.
    unique_key=("prognosmanad", "ansvar"),
)

ANSVAR_RANGE = r"'([0-9]{4,6})(?:-([0-9]{4,6}))?'"

REPORT_STRUCTURE = CsvSource(
    name="report_structure",
    folder="config",
    patterns=("rapportstruktur*.csv",),
    table="raw.report_structure",
    columns=("GiltigFran", "GiltigTill", "Ansvar", "Rapport", "Rapportrad", "Sarskild", "Ordning"),
    optional=frozenset({"GiltigTill", "Sarskild"}),
    select={
        "giltig_fran": RawColumn("yyyy(c_giltigfran)", "INTEGER", required=True),
        "giltig_till": RawColumn("yyyy(c_giltigtill)", "INTEGER"),
        "ansvar_fran": RawColumn(
            f"CAST(nullif(regexp_extract(c_ansvar, {ANSVAR_RANGE}, 1), '') AS INTEGER)",
            "INTEGER",
            required=True,
        ),
        "ansvar_till": RawColumn(
            f"CAST(coalesce(nullif(regexp_extract(c_ansvar, {ANSVAR_RANGE}, 2), ''), "
            f"nullif(regexp_extract(c_ansvar, {ANSVAR_RANGE}, 1), '')) AS INTEGER)",
            "INTEGER",
            required=True,
        ),
        "rapport": RawColumn("c_rapport", "VARCHAR", required=True),
        "rapportrad": RawColumn("c_rapportrad", "VARCHAR", required=True),
        "sarskild": RawColumn("coalesce(c_sarskild, '0') = '1'", "BOOLEAN", required=True),
        "ordning": RawColumn("TRY_CAST(c_ordning AS INTEGER)", "INTEGER", required=True),
    },
    checks=(
        _year("GiltigFran", "c_giltigfran"),
        _year("GiltigTill", "c_giltigtill", optional=True),
        _valid_years(),
        Check(
            f"NOT regexp_full_match(coalesce(c_ansvar, ''), {ANSVAR_RANGE})",
            "'Ansvar ''' || coalesce(c_ansvar, '') || ''' is not a unit code or a range "
            "like 5300-5399'",
        ),
        Check("ansvar_fran > ansvar_till", "'Ansvar range ' || c_ansvar || ' runs backwards'"),
        _required_text("Rapport", "c_rapport"),
        _required_text("Rapportrad", "c_rapportrad"),
        Check("coalesce(c_sarskild, '0') NOT IN ('0', '1')", "'Sarskild must be 1, 0 or empty'"),
        Check(
            "ordning IS NULL",
            "'Ordning ''' || coalesce(c_ordning, '') || ''' is not a whole number'",
        ),
    ),
)

REPORTS = CsvSource(
    name="reports",
    folder="config",
    patterns=("rapporter*.csv",),
    table="raw.reports",
    columns=(
        "GiltigFran",
        "GiltigTill",
        "Rapport",
        "Rubrik",
        "Summarad",
        "Delsummarad",
        "IngarI",
        "Ordning",
    ),
    optional=frozenset({"GiltigTill", "Delsummarad", "IngarI"}),
    select={
        "giltig_fran": RawColumn("yyyy(c_giltigfran)", "INTEGER", required=True),
        "giltig_till": RawColumn("yyyy(c_giltigtill)", "INTEGER"),
        "rapport": RawColumn("c_rapport", "VARCHAR", required=True),
        "rubrik": RawColumn("c_rubrik", "VARCHAR", required=True),
        "summarad": RawColumn("c_summarad", "VARCHAR", required=True),
        "delsummarad": RawColumn("c_delsummarad", "VARCHAR"),
        "ingar_i": RawColumn("c_ingari", "VARCHAR"),
        "ordning": RawColumn("TRY_CAST(c_ordning AS INTEGER)", "INTEGER", required=True),
    },
    checks=(
        _year("GiltigFran", "c_giltigfran"),
        _year("GiltigTill", "c_giltigtill", optional=True),
        _valid_years(),
        _required_text("Rapport", "c_rapport"),
        _required_text("Rubrik", "c_rubrik"),
        _required_text("Summarad", "c_summarad"),
        Check(
            "ordning IS NULL",
            "'Ordning ''' || coalesce(c_ordning, '') || ''' is not a whole number'",
        ),
    ),
)

# A code or a range of codes of one length ("4630", "46", "4630-4649"): a ledger code matches
# when its first digits, as many as the rule has, fall in the range (so "46" is every 46xx).
CODE_RANGE = r"'([0-9]{1,6})(?:-([0-9]{1,6}))?'"


def _range_end(field: str, group: int) -> str:
    """One end of a code range as text; the upper end of a single code is the code."""
    start = f"nullif(regexp_extract({field}, {CODE_RANGE}, 1), '')"
    if group == 1:
        return start
    return f"coalesce(nullif(regexp_extract({field}, {CODE_RANGE}, 2), ''), {start})"


def _code_range(column: str, field: str) -> tuple[Check, Check]:
    return (
        Check(
            f"{field} IS NOT NULL AND NOT regexp_full_match({field}, {CODE_RANGE})",
            f"'{column} ''' || {field} || ''' is not a code or a range like 4630-4649'",
        ),
        Check(
            f"regexp_full_match(coalesce({field}, ''), {CODE_RANGE}) AND "
            f"(length({_range_end(field, 1)}) <> length({_range_end(field, 2)}) "
            f"OR {_range_end(field, 1)} > {_range_end(field, 2)})",
            f"'{column} range ' || {field} || ' must run upwards between codes of one length'",
        ),
    )


COST_KINDS = CsvSource(
    name="cost_kinds",
    folder="config",
    patterns=("kostnadsslag*.csv",),
    table="raw.cost_kinds",
    columns=("Konto", "Verksamhet", "Kostnadsslag"),
    optional=frozenset({"Konto", "Verksamhet"}),
    select={
        "konto_fran": RawColumn(_range_end("c_konto", 1), "VARCHAR"),
        "konto_till": RawColumn(_range_end("c_konto", 2), "VARCHAR"),
        "verksamhet_fran": RawColumn(_range_end("c_verksamhet", 1), "VARCHAR"),
        "verksamhet_till": RawColumn(_range_end("c_verksamhet", 2), "VARCHAR"),
        "kostnadsslag": RawColumn("c_kostnadsslag", "VARCHAR", required=True),
    },
    checks=(
        *_code_range("Konto", "c_konto"),
        *_code_range("Verksamhet", "c_verksamhet"),
        Check(
            "c_konto IS NULL AND c_verksamhet IS NULL",
            "'a rule needs a Konto, a Verksamhet or both'",
        ),
        _required_text("Kostnadsslag", "c_kostnadsslag"),
    ),
)


def _number(column: str, field: str, optional: bool = False) -> Check:
    bad = f"sv_amount({field}) IS NULL"
    if optional:
        bad = f"{field} IS NOT NULL AND {bad}"
    return Check(
        bad,
        f"'{column} ''' || coalesce({field}, '') || ''' is not a number (Swedish format)'",
    )


def _one_of(column: str, field: str, values: tuple[str, ...]) -> Check:
    listed = ", ".join(f"'{v}'" for v in values)
    return Check(
        f"coalesce(lower({field}), '') NOT IN ({listed})",
        f"'{column} ''' || coalesce({field}, '') || ''' is not one of {', '.join(values)}'",
    )


MONTH_SPAN = r"'((?:19|20)[0-9]{2}(?:0[1-9]|1[0-2]))-((?:19|20)[0-9]{2}(?:0[1-9]|1[0-2]))'"

# docs/inputs.md §8: the improvement plan's measures, maintained by the controllers.
MEASURES = CsvSource(
    name="measures",
    folder="config",
    patterns=("atgarder*.csv",),
    table="raw.measures",
    columns=(
        "Id",
        "Omrade",
        "Atgard",
        "Rapportrad",
        "Matt",
        "Malforandring",
        "Enhetskostnad",
        "Baslinje",
        "Start",
    ),
    optional=frozenset({"Omrade", "Rapportrad", "Matt", "Malforandring", "Enhetskostnad"}),
    select={
        "atgard_id": RawColumn("c_id", "VARCHAR", required=True),
        "omrade": RawColumn("c_omrade", "VARCHAR"),
        "atgard": RawColumn("c_atgard", "VARCHAR", required=True),
        "rapportrad": RawColumn("c_rapportrad", "VARCHAR"),
        "matt": RawColumn("c_matt", "VARCHAR"),
        "malforandring": RawColumn("CAST(sv_amount(c_malforandring) AS DOUBLE)", "DOUBLE"),
        "enhetskostnad": RawColumn("sv_amount(c_enhetskostnad)", "DECIMAL(18, 2)"),
        "baslinje_fran": RawColumn(
            f"yyyymm(regexp_extract(c_baslinje, {MONTH_SPAN}, 1))", "INTEGER"
        ),
        "baslinje_till": RawColumn(
            f"yyyymm(regexp_extract(c_baslinje, {MONTH_SPAN}, 2))", "INTEGER"
        ),
        "start": RawColumn("yyyymm(c_start)", "INTEGER", required=True),
    },
    checks=(
        _required_text("Id", "c_id"),
        _required_text("Atgard", "c_atgard"),
        _month("Start", "c_start"),
        _number("Malforandring", "c_malforandring", optional=True),
        _number("Enhetskostnad", "c_enhetskostnad", optional=True),
        Check(
            f"c_baslinje IS NOT NULL AND NOT regexp_full_match(trim(c_baslinje), {MONTH_SPAN})",
            "'Baslinje ''' || c_baslinje || ''' is not a span of months YYYYMM-YYYYMM'",
        ),
        Check(
            "baslinje_till < baslinje_fran",
            "'Baslinje ' || c_baslinje || ' runs backwards'",
        ),
        # A measure with a driver has what its effect is computed from.
        Check(
            "c_matt IS NOT NULL AND (c_malforandring IS NULL OR c_enhetskostnad IS NULL "
            "OR c_baslinje IS NULL)",
            "'a measure with Matt needs Malforandring, Enhetskostnad and Baslinje'",
        ),
    ),
    # A measure is followed by its id: two rows of one id would be two measures in one.
    unique_key=("atgard_id",),
)

MEASURE_STATUSES = ("planerad", "pågående", "genomförd", "avbruten")

MEASURE_STATUS = CsvSource(
    name="measure_status",
    folder="config",
    patterns=("atgardsstatus*.csv",),
    table="raw.measure_status",
    columns=("Manad", "Id", "Status", "Kommentar"),
    optional=frozenset({"Kommentar"}),
    select={
        "manad": RawColumn("yyyymm(c_manad)", "INTEGER", required=True),
        "atgard_id": RawColumn("c_id", "VARCHAR", required=True),
        "status": RawColumn("lower(c_status)", "VARCHAR", required=True),
        "kommentar": RawColumn("c_kommentar", "VARCHAR"),
    },
    checks=(
        _month("Manad", "c_manad"),
        _required_text("Id", "c_id"),
        _one_of("Status", "c_status", MEASURE_STATUSES),
        Check(
            "c_id IS NOT NULL AND c_id NOT IN (SELECT atgard_id FROM raw.measures)",
            "'Id ''' || c_id || ''' is not a measure of config/atgarder.csv'",
        ),
    ),
    reads=("raw.measures",),
    unique_key=("manad", "atgard_id"),
)

# docs/inputs.md §9: the committee's goal indicators.
GOAL_INDICATORS = CsvSource(
    name="goal_indicators",
    folder="config",
    patterns=("malindikatorer*.csv",),
    table="raw.goal_indicators",
    columns=("Id", "Indikator", "Kalla", "Berakning", "Mal", "Riktning"),
    optional=frozenset(),
    select={
        "indikator_id": RawColumn("c_id", "VARCHAR", required=True),
        "indikator": RawColumn("c_indikator", "VARCHAR", required=True),
        "kalla_typ": RawColumn("lower(split_part(c_kalla, ':', 1))", "VARCHAR", required=True),
        "kalla_namn": RawColumn(
            "nullif(trim(substring(c_kalla, strpos(c_kalla, ':') + 1)), '')",
            "VARCHAR",
            required=True,
        ),
        "berakning": RawColumn("lower(c_berakning)", "VARCHAR", required=True),
        "mal": RawColumn("CAST(sv_amount(c_mal) AS DOUBLE)", "DOUBLE", required=True),
        "riktning": RawColumn("lower(c_riktning)", "VARCHAR", required=True),
    },
    checks=(
        _required_text("Id", "c_id"),
        _required_text("Indikator", "c_indikator"),
        Check(
            "NOT regexp_full_match(coalesce(c_kalla, ''), "
            "'(verksamhetsmatt|kolada):\\s*\\S.*', 'i')",
            "'Kalla ''' || coalesce(c_kalla, '') || ''' is not verksamhetsmatt:<measure> or "
            "kolada:<KPI id>'",
        ),
        _one_of("Berakning", "c_berakning", ("varde", "forandring_pct")),
        _number("Mal", "c_mal"),
        _one_of("Riktning", "c_riktning", ("lagre", "hogre")),
    ),
    unique_key=("indikator_id",),
)

CSV_SOURCES: tuple[CsvSource, ...] = (
    LEDGER,
    BUDGET,
    FORECASTS,
    REPORT_STRUCTURE,
    REPORTS,
    COST_KINDS,
    MEASURES,
    MEASURE_STATUS,
    GOAL_INDICATORS,
)

# The raw tables of the loaders that are not CSV: the volume counts (CSV or XLSX, cell by
# cell, ingest/volumes.py) and the Kolada fetch (JSON, kolada/landing.py). Columns in the
# order those loaders insert them.
VOLUME_CELLS = RawTable(
    "raw.volume_cells",
    {
        "file_sha256": Column("VARCHAR", True),
        "sheet": Column("VARCHAR"),  # the workbook's sheet; NULL for CSV
        "row_number": Column("BIGINT", True),
        "column_name": Column("VARCHAR", True),
        "ar": Column("INTEGER", True),
        "manad": Column("INTEGER", True),
        "avsnitt": Column("VARCHAR", True),
        "matt_levererat": Column("VARCHAR", True),
        "matt_id": Column("VARCHAR"),  # NULL: a name the catalogue does not know
        "ratt_text": Column("VARCHAR"),
        "varde": Column("DOUBLE"),
        "andel": Column("DOUBLE"),
        "kapacitet": Column("DOUBLE"),
    },
)

KOLADA_TABLES = (
    RawTable(
        "raw.kolada_values",
        {
            "fetch_name": Column("VARCHAR", True),
            "kpi": Column("VARCHAR", True),
            "municipality": Column("VARCHAR", True),
            "period": Column("INTEGER", True),
            "gender": Column("VARCHAR", True),
            "value": Column("DOUBLE"),
            "count": Column("BIGINT"),
            "status": Column("VARCHAR"),
            "isdeleted": Column("BOOLEAN"),
            "source_file": Column("VARCHAR", True),
        },
    ),
    RawTable(
        "raw.kolada_municipalities",
        {
            "id": Column("VARCHAR", True),
            "title": Column("VARCHAR", True),
            "type": Column("VARCHAR"),
        },
    ),
    RawTable(
        "raw.kolada_group_members",
        {
            "group_id": Column("VARCHAR", True),
            "group_title": Column("VARCHAR", True),
            "member_id": Column("VARCHAR", True),
            "member_title": Column("VARCHAR", True),
        },
    ),
    RawTable(
        "raw.kolada_kpis",
        {
            "id": Column("VARCHAR", True),
            "title": Column("VARCHAR", True),
            "publ_period": Column("VARCHAR"),
            "prel_publication_date": Column("VARCHAR"),
        },
    ),
    # home_municipality | comparison_group | country | year
    RawTable(
        "raw.kolada_config",
        {"setting": Column("VARCHAR", True), "value": Column("VARCHAR", True)},
    ),
)
OTHER_RAW_TABLES: tuple[RawTable, ...] = (VOLUME_CELLS, *KOLADA_TABLES)

COLUMN_MAP_FILE = Path("config") / "kolumnmappning.csv"
COLUMN_MAP = LandedSource(name="column_map", folder="config", patterns=("kolumnmappning.csv",))

# SIE 4 files: a second way to deliver the ledger (raw.ledger_lines), logged as the ledger's
# deliveries, so that one replacement rule holds for both (docs/inputs.md §7).
SIE = LandedSource(name="ledger", folder="sie", patterns=("*.[sS][eEiI]", "*.[sS][iI][eE]"))
SIE_DIMENSIONS_FILE = Path("config") / "sie_dimensioner.csv"
SIE_DIMENSIONS = LandedSource(
    name="sie_dimensions", folder="config", patterns=("sie_dimensioner.csv",)
)
