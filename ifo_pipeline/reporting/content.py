"""What the month report says, read once from the published marts: tables and charts as plain
data, which the text, HTML and workbook renderers each lay out in their own way.

Every figure comes from a mart (no arithmetic here beyond unit conversion), so the report says
exactly what a controller's SQL against `ifo.duckdb` says.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

import duckdb

from ifo_pipeline.operations import outstanding_refusals

SWEDISH_MONTHS = (
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "Maj",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Okt",
    "Nov",
    "Dec",
)
MONTH_NAMES = (
    "januari",
    "februari",
    "mars",
    "april",
    "maj",
    "juni",
    "juli",
    "augusti",
    "september",
    "oktober",
    "november",
    "december",
)
# The volume measure the "ongoing cases" charts follow, per section that reports it.
ONGOING_CASES = "Antal pågående ärenden"
UNMAPPED_COST_KIND = "övrigt"

Cell = str | int | float | Decimal | None


@dataclass(frozen=True)
class Table:
    """A table as printed: a label column, then figures. `formats` per column: 'text', 'tkr'
    (whole thousands), 'number' (counts, one decimal at most), 'pct', 'mkr', 'kr'."""

    key: str  # a short name: the workbook's sheet, the page's anchor
    title: str
    columns: tuple[str, ...]
    formats: tuple[str, ...]
    rows: list[tuple[Cell, ...]]
    totals: list[bool] = field(default_factory=list)  # per row: a total row, set in bold
    notes: list[str] = field(default_factory=list)
    # Per row, per column: the figure is worse than its reference (budget, forecast, target)
    # in the direction that is worse for that measure; shown in red. Colour says nothing else
    # (a net cost is negative by convention, not bad).
    worse: list[tuple[bool, ...]] = field(default_factory=list)


def worse_by_sign(rows: list[tuple], negative: set[int] = frozenset(), positive=frozenset()):
    """The `worse` marking of a table whose figures are their own deviation: a negative
    figure in a `negative` column (a deficit, a worsened forecast) or a positive one in a
    `positive` column (a cost above the comparison) is worse."""

    def bad(index: int, value: object) -> bool:
        if not isinstance(value, int | float | Decimal) or value == 0:
            return False
        return (index in negative and value < 0) or (index in positive and value > 0)

    return [tuple(bad(i, v) for i, v in enumerate(row)) for row in rows]


@dataclass(frozen=True)
class Series:
    name: str
    values: list[float | None]


@dataclass(frozen=True)
class Chart:
    """`kind`: 'line', 'bar' (series side by side) or 'stacked' (series on top of each other)."""

    key: str
    title: str
    kind: str
    categories: list[str]
    series: list[Series]
    unit: str  # the value axis: 'tkr', 'Mkr', 'st', '%'


@dataclass(frozen=True)
class Section:
    title: str
    tables: list[Table] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class MonthReport:
    year: int
    month: int
    title: str
    period: str  # 'Jan-Mar 19'
    sections: list[Section]
    generated_at: datetime

    def tables(self) -> list[Table]:
        return [t for s in self.sections for t in s.tables]

    def charts(self) -> list[Chart]:
        return [c for s in self.sections for c in s.charts]


def gather(con: duckdb.DuckDBPyConnection, year: int, month: int) -> MonthReport:
    """The month's report from the published marts. Raises LookupError when the month has no
    ledger data (there is nothing to report)."""
    results = result_section(con, year, month)
    return MonthReport(
        year=year,
        month=month,
        title=f"Månadsrapport {MONTH_NAMES[month - 1]} {year}",
        period=period_label(year, month),
        sections=[
            results,
            flags_section(con, year, month),
            placement_section(con, year, month),
            volume_section(con, year, month),
            kolada_section(con, year),
            areas_section(con, year),
            plan_section(con, year, month),
            goals_section(con, year, month),
            sources_section(con),
        ],
        generated_at=datetime.now().astimezone(),
    )


def period_label(year: int, month: int) -> str:
    return f"{SWEDISH_MONTHS[0]}-{SWEDISH_MONTHS[month - 1]} {year % 100:02d}"


def latest_ledger_month(con: duckdb.DuckDBPyConnection) -> tuple[int, int] | None:
    """The latest month the published result report covers (the nightly report's month)."""
    row = con.execute(
        "SELECT ar, manad FROM marts.resultatrapport ORDER BY ar DESC, manad DESC LIMIT 1"
    ).fetchone()
    return (row[0], row[1]) if row else None


def result_section(con: duckdb.DuckDBPyConnection, year: int, month: int) -> Section:
    reports = con.execute(
        "SELECT rapport, rubrik FROM marts.rapporter WHERE ar = ? ORDER BY niva, ordning, rapport",
        [year],
    ).fetchall()
    if not reports:
        raise LookupError(f"no result report for {year}: nothing loaded for that year")
    columns = (
        "Tkr",
        "Kommunbidrag",
        "Nettokostnad",
        "Nettoresultat",
        "Årsprognos",
        "Förändr. fg. prognos",
        f"Helår {(year - 1) % 100:02d}",
    )
    section = Section("Resultat")
    for code, title in reports:
        rows = con.execute(
            """SELECT rapportrad, radtyp, kommunbidrag_ack_tkr, nettokostnad_ack_tkr,
                      nettoresultat_ack_tkr, arsprognos_tkr, forandring_mot_fg_prognos_tkr,
                      helar_fg_ar_tkr
               FROM marts.resultatrapport_tkr WHERE ar = ? AND manad = ? AND rapport = ?
               ORDER BY ordning""",
            [year, month, code],
        ).fetchall()
        if not rows:
            continue
        section.tables.append(
            Table(
                key=f"Resultat {code}",
                title=f"{title}, {period_label(year, month)}",
                columns=columns,
                formats=("text", *["tkr"] * 6),
                rows=(table_rows := [(label, *values) for label, _, *values in rows]),
                totals=[kind != "rad" for _, kind, *_ in rows],
                # A deficit, a deficit forecast, a worsened forecast; never a net cost.
                worse=worse_by_sign(table_rows, negative={3, 4, 5}),
            )
        )
        lines = [r for r in rows if r[1] == "rad"]
        if len(lines) >= 3:  # a chart of two bars says nothing a table does not
            section.charts.append(
                Chart(
                    key=f"Prognos {code}",
                    title=f"Resultat och årsprognos per rad, {title} (tkr)",
                    kind="bar",
                    categories=[r[0] for r in lines],
                    series=[
                        Series(f"Nettoresultat {period_label(year, month)}", _floats(lines, 4)),
                        Series("Årsprognos", _floats(lines, 5)),
                    ],
                    unit="tkr",
                )
            )
    if not section.tables:
        raise LookupError(f"no ledger data for {year}-{month:02d}")
    return section


def flags_section(con: duckdb.DuckDBPyConnection, year: int, month: int) -> Section:
    rows = con.execute(
        """SELECT rapport, rapportrad, arsprognos, prognos_linjar, prognos_budgetkvot,
                  prognos_fg_ar_profil, flaggorsak
           FROM marts.budgetavvikelse WHERE ar = ? AND manad = ? AND flagga AND radtyp = 'rad'
           ORDER BY rapport, ordning""",
        [year, month],
    ).fetchall()
    section = Section("Budgetavvikelse")
    if not rows:
        section.notes.append("Ingen rad är flaggad.")
        return section
    section.tables.append(
        Table(
            key="Budgetavvikelse",
            title="Flaggade rader: årsprognosen mot tre referensprognoser (tkr)",
            columns=(
                "Rad",
                "Årsprognos",
                "Linjär",
                "Budgetkvot",
                "Fg. års profil",
                "Orsak",
            ),
            formats=("text", "tkr", "tkr", "tkr", "tkr", "text"),
            rows=(
                flagged := [
                    (f"{rapport} {rad}", *(kr_to_tkr(v) for v in values), reason)
                    for rapport, rad, *values, reason in rows
                ]
            ),
            worse=worse_by_sign(flagged, negative={1}),  # the managers' deficit forecast
        )
    )
    return section


def kr_to_tkr(value: Decimal | None) -> int | None:
    if value is None:
        return None
    return int((Decimal(value) / 1000).to_integral_value(rounding=ROUND_HALF_UP))


def placement_section(con: duckdb.DuckDBPyConnection, year: int, month: int) -> Section:
    """Placement cost per quarter and kind, last year and this year through the month."""
    rows = con.execute(
        """SELECT ar, kvartal, kostnadsslag, -sum(nettokostnad) / 1e6 AS mkr
           FROM marts.placeringskostnad
           WHERE kostnadsslag <> ? AND (ar = ? - 1 OR (ar = ? AND manad <= ?))
           GROUP BY ar, kvartal, kostnadsslag ORDER BY ar, kvartal, kostnadsslag""",
        [UNMAPPED_COST_KIND, year, year, month],
    ).fetchall()
    section = Section("Placeringskostnad")
    if not rows:
        section.notes.append(
            "Inga kostnader med kostnadsslag (config/kostnadsslag.csv saknas eller träffar "
            "inget konto)."
        )
        return section
    quarters = sorted({(ar, q) for ar, q, _, _ in rows})
    kinds = sorted({kind for _, _, kind, _ in rows})
    value = {(ar, q, kind): mkr for ar, q, kind, mkr in rows}
    labels = [f"Kv{q} {ar}" for ar, q in quarters]
    section.charts.append(
        Chart(
            key="Placeringskostnad",
            title="Extern placeringskostnad per kvartal och kostnadsslag (Mkr)",
            kind="stacked",
            categories=labels,
            series=[Series(k, [value.get((ar, q, k)) for ar, q in quarters]) for k in kinds],
            unit="Mkr",
        )
    )
    section.tables.append(
        Table(
            key="Placeringskostnad",
            title="Extern placeringskostnad per kvartal (Mkr, kostnad positiv)",
            columns=("Kostnadsslag", *labels),
            formats=("text", *["mkr"] * len(labels)),
            rows=[(k, *(value.get((ar, q, k)) for ar, q in quarters)) for k in kinds],
            notes=[f"Kvartal {(month - 1) // 3 + 1} {year} till och med {MONTH_NAMES[month - 1]}."]
            if month % 3
            else [],
        )
    )
    return section


def volume_section(con: duckdb.DuckDBPyConnection, year: int, month: int) -> Section:
    rows = con.execute(
        """SELECT avsnitt, matt, ratt_text, ratt_text_fg_ar, forandring_fg_ar_pct
           FROM marts.verksamhetsmatt WHERE ar = ? AND manad = ?
           ORDER BY avsnitt, matt_id""",
        [year, month],
    ).fetchall()
    section = Section("Verksamhetsmått")
    if not rows:
        section.notes.append(f"Inga verksamhetsmått levererade för {year}-{month:02d}.")
        return section
    name = SWEDISH_MONTHS[month - 1]
    for avsnitt in dict.fromkeys(r[0] for r in rows):
        section.tables.append(
            Table(
                key=f"Volym {avsnitt}",
                title=avsnitt,
                columns=(
                    "Verksamhetsmått",
                    f"{name} {year % 100:02d}",
                    f"{name} {(year - 1) % 100:02d}",
                    "Förändring %",
                ),
                # Last year's cell as delivered: a share beside a share, never its count.
                formats=("text", "text", "text", "pct"),
                rows=[
                    (m, text, prior, change) for a, m, text, prior, change in rows if a == avsnitt
                ],
                notes=["Förändring: i procent för antal, i procentenheter för andelar."],
            )
        )
    ongoing = con.execute(
        """SELECT avsnitt, ar, manad, varde FROM marts.verksamhetsmatt
           WHERE matt = ? AND ar IN (?, ? - 1) ORDER BY avsnitt, ar, manad""",
        [ONGOING_CASES, year, year],
    ).fetchall()
    for avsnitt in dict.fromkeys(r[0] for r in ongoing):
        by_month = {(ar, m): v for a, ar, m, v in ongoing if a == avsnitt}
        section.charts.append(
            Chart(
                key=f"Pågående {avsnitt}"[:31],
                title=f"{ONGOING_CASES} per månad, {avsnitt.lower()}",
                kind="line",
                categories=list(SWEDISH_MONTHS),
                series=[
                    Series(str(year), [by_month.get((year, m)) for m in range(1, month + 1)]),
                    Series(str(year - 1), [by_month.get((year - 1, m)) for m in range(1, 13)]),
                ],
                unit="st",
            )
        )
    return section


def _kolada_source(con: duckdb.DuckDBPyConnection) -> str:
    """Where the figures come from and when they were fetched."""
    fetched = con.execute(
        """SELECT max(loaded_at) FROM ops.load_log
           WHERE source = 'kolada' AND outcome IN ('loaded', 'loaded_with_rejects')"""
    ).fetchone()[0]
    when = f", hämtade {fetched:%Y-%m-%d}" if fetched else ""
    return (
        "Källa: Kolada (RKA, kolada.se), nyckeltalen för nettokostnad och standardkostnad "
        f"(referenskostnad) inom individ- och familjeomsorgen{when}. Preliminära värden "
        "kan ändras när Kolada publicerar årets slutliga."
    )


def kolada_section(con: duckdb.DuckDBPyConnection, year: int) -> Section:
    """Nettokostnadsavvikelse of the home municipality against its comparison group."""
    rows = con.execute(
        """SELECT ar, roll, kommun, nettokostnad_kr_inv, referenskostnad_kr_inv,
                  avvikelse_pct, avvikelse_mkr, preliminar
           FROM marts.nettokostnadsavvikelse
           WHERE roll IN ('hemkommun', 'grupp') AND ar <= ?
           ORDER BY ar, roll DESC""",
        [year],
    ).fetchall()
    section = Section("Jämförelse med liknande kommuner (Kolada)")
    home = [r for r in rows if r[1] == "hemkommun"]
    if not home:
        section.notes.append("Inga Kolada-värden för hemkommunen ännu.")
        return section
    group = {r[0]: r for r in rows if r[1] == "grupp"}
    years = [r[0] for r in home]
    section.tables.append(
        Table(
            key="Kolada",
            title=f"Nettokostnadsavvikelse IFO, {home[0][2]} mot jämförelsegruppen",
            columns=(
                "År",
                "Nettokostnad kr/inv",
                "Referenskostnad kr/inv",
                "Avvikelse %",
                "Avvikelse Mkr",
                "Gruppen, avvikelse %",
                "Anm.",
            ),
            # The year a number (a workbook sorts and filters it), never "2019 (prel.)".
            formats=("text", "kr", "kr", "pct", "mkr", "pct", "text"),
            rows=(
                kolada := [
                    (
                        ar,
                        cost,
                        ref,
                        pct,
                        mkr,
                        group[ar][5] if ar in group else None,
                        "preliminärt" if prel else "",
                    )
                    for ar, _, _, cost, ref, pct, mkr, prel in home
                ]
            ),
            # Dearer than the reference is worse; cheaper (a negative deviation) is good.
            worse=worse_by_sign(kolada, positive={3, 4}),
            notes=[_kolada_source(con)],
        )
    )
    section.charts.append(
        Chart(
            key="Nettokostnadsavvikelse",
            title="Nettokostnadsavvikelse IFO per år (%)",
            kind="line",
            categories=[str(y) for y in years],
            series=[
                Series(home[0][2], [_float(r[5]) for r in home]),
                Series(
                    "Jämförelsegruppen",
                    [_float(group[y][5]) if y in group else None for y in years],
                ),
            ],
            unit="%",
        )
    )
    return section


def areas_section(con: duckdb.DuckDBPyConnection, year: int) -> Section:
    """The genomlysning: cost per area against the group, for the latest year with figures."""
    section = Section("Kostnad per område")
    latest = con.execute(
        "SELECT max(ar) FROM marts.kostnad_per_omrade WHERE ar <= ?", [year]
    ).fetchone()[0]
    if latest is None:
        section.notes.append("Inga Kolada-värden per område ännu.")
        return section
    rows = con.execute(
        """SELECT omrade, kr_inv, kr_inv_grupp, kr_inv_riket, skillnad_kr_inv, skillnad_mnkr,
                  preliminar
           FROM marts.kostnad_per_omrade WHERE ar = ?
           ORDER BY omrade = 'övrig IFO', omrade""",
        [latest],
    ).fetchall()
    section.tables.append(
        Table(
            key="Kostnad per område",
            title=f"Kostnad per invånare per område {latest} mot jämförelsegruppen"
            + (" (preliminärt)" if any(r[6] for r in rows) else ""),
            columns=(
                "Område",
                "Kr/inv",
                "Gruppen kr/inv",
                "Riket kr/inv",
                "Skillnad kr/inv",
                "Skillnad mnkr",
            ),
            formats=("text", "kr", "kr", "kr", "kr", "mkr"),
            rows=(areas := [r[:6] for r in rows]),
            worse=worse_by_sign(areas, positive={4, 5}),  # dearer than the group
        )
    )
    section.charts.append(
        Chart(
            key="Kostnad per område",
            title=f"Kostnad per invånare per område {latest}, hemkommunen mot gruppen (kr/inv)",
            kind="bar",
            categories=[r[0] for r in rows],
            series=[
                Series("Hemkommunen", _floats(rows, 1)),
                Series("Jämförelsegruppen", _floats(rows, 2)),
            ],
            unit="kr/inv",
        )
    )
    return section


def plan_section(con: duckdb.DuckDBPyConnection, year: int, month: int) -> Section:
    """The improvement plan's measures as of the month: status, driver and effect."""
    rows = con.execute(
        """SELECT atgard_id || ' ' || atgard, status, baslinje, utfall,
                  effekt_kr_per_ar / 1e6, maleffekt_kr_per_ar / 1e6, andel_av_mal * 100,
                  -- Why the figures are empty, in words: no column is left blank unexplained.
                  CASE WHEN matt IS NULL THEN 'inget drivande mått: effekten följs inte'
                       WHEN effekt_kr_per_ar IS NULL
                           THEN 'ingen effekt ännu: åtgärden har inte startat'
                       ELSE '' END
           FROM marts.atgardsuppfoljning WHERE ar = ? AND manad = ? ORDER BY atgard_id""",
        [year, month],
    ).fetchall()
    section = Section("Åtgärdsuppföljning")
    if not rows:
        section.notes.append(
            "Ingen åtgärd följs upp denna månad (config/atgarder.csv saknas eller ingen "
            "åtgärd har startat)."
        )
        return section
    section.tables.append(
        Table(
            key="Åtgärdsuppföljning",
            title=f"Åtgärder, {MONTH_NAMES[month - 1]} {year}: status och effekt per år",
            columns=(
                "Åtgärd",
                "Status",
                "Baslinje",
                "Utfall",
                "Effekt Mkr/år",
                "Mål Mkr/år",
                "Andel av mål %",
                "Anm.",
            ),
            formats=("text", "text", "number", "number", "mkr", "mkr", "number", "text"),
            rows=rows,
            notes=[
                "Baslinje och utfall: det drivande måttets medelvärde per månad före och "
                "efter start. Effekt: besparing per år som förändringen motsvarar."
            ],
        )
    )
    return section


def goals_section(con: duckdb.DuckDBPyConnection, year: int, month: int) -> Section:
    """The indicators as known through the report's month: the year to date (a Kolada
    indicator is the year's value)."""
    rows = con.execute(
        """SELECT indikator, utfall, mal, bedomning, trend, manader
           FROM marts.malupfyllelse WHERE ar = ? AND manad = ? ORDER BY indikator_id""",
        [year, month],
    ).fetchall()
    section = Section("Måluppfyllelse")
    if not rows:
        section.notes.append(f"Inga målindikatorer med utfall för {period_label(year, month)}.")
        return section
    section.tables.append(
        Table(
            key="Måluppfyllelse",
            title=f"Nämndmålens indikatorer {period_label(year, month)} (hittills i år)",
            columns=("Indikator", "Utfall", "Mål", "Bedömning", "Trend", "Månader"),
            formats=("text", "number", "number", "text", "text", "number"),
            rows=rows,
            # The outcome and the assessment of a target not met (a partly met one is not red:
            # it is better than last year).
            worse=[
                tuple(i in (1, 3) and row[3] == "ej uppfyllt" for i in range(len(row)))
                for row in rows
            ],
        )
    )
    return section


# The sources as a controller knows them: what is delivered, and where it lands.
SOURCE_NAMES = {
    "ledger": "Huvudbok (ledger/, sie/)",
    "budget": "Kommunbidrag (budget/)",
    "forecasts": "Årsprognoser (prognos/)",
    "volumes": "Verksamhetsmått (verksamhetsmatt/)",
    "report_structure": "Rapportstruktur (config/rapportstruktur.csv)",
    "reports": "Rapporter (config/rapporter.csv)",
    "column_map": "Kolumnmappning (config/kolumnmappning.csv)",
    "sie_dimensions": "SIE-dimensioner (config/sie_dimensioner.csv)",
    "cost_kinds": "Kostnadsslag (config/kostnadsslag.csv)",
    "measures": "Åtgärder (config/atgarder.csv)",
    "measure_status": "Åtgärdsstatus (config/atgardsstatus.csv)",
    "goal_indicators": "Målindikatorer (config/malindikatorer.csv)",
    "kolada": "Kolada (kolada.se, nyckeltal)",
}


def sources_section(con: duckdb.DuckDBPyConnection) -> Section:
    """When each source was last loaded, and whether anything is refused or set aside."""
    rows = con.execute(
        """SELECT source, max(loaded_at) FILTER (WHERE outcome IN ('loaded',
                      'loaded_with_rejects', 'reloaded')),
                  count(*) FILTER (WHERE outcome = 'rejected')
           FROM ops.load_log GROUP BY source ORDER BY source"""
    ).fetchall()
    rejects = dict(
        con.execute("SELECT source, count(*) FROM ops.rejects GROUP BY source").fetchall()
    )
    refused = outstanding_refusals(con)
    section = Section("Datakällor")
    section.tables.append(
        Table(
            key="Datakällor",
            title="Senast inläst per källa",
            columns=("Källa", "Senast inläst", "Avvisade filer", "Avvisade rader"),
            formats=("text", "text", "number", "number"),
            rows=[
                (
                    SOURCE_NAMES.get(source, source),
                    f"{last:%Y-%m-%d %H:%M}" if last else "aldrig",
                    refused_files,
                    rejects.get(source, 0),
                )
                for source, last, refused_files in rows
            ],
        )
    )
    section.notes.append(
        f"{len(refused)} avvisad(e) fil(er) har inte levererats om: " + "; ".join(refused)
        if refused
        else "Ingen avvisad fil väntar på ny leverans."
    )
    return section


def _float(value: Cell) -> float | None:
    return None if value is None else float(value)


def _floats(rows: list[tuple], index: int) -> list[float | None]:
    return [_float(r[index]) for r in rows]
