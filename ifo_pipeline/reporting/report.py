"""The monthly report's result tables as text, the way the printed report shows them."""

from __future__ import annotations

from decimal import Decimal

import duckdb

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


def format_tkr(value: Decimal | int | None) -> str:
    """Whole tkr in Swedish print: '57 692', '-16 242'; empty for a blank cell."""
    if value is None:
        return ""
    return f"{int(value):,}".replace(",", " ")


def render_result_report(con: duckdb.DuckDBPyConnection, year: int, month: int) -> str:
    """Every report of the year for the month, parent reports first, from marts.*_tkr."""
    reports = con.execute(
        """SELECT rapport, rubrik FROM marts.rapporter WHERE ar = ?
           ORDER BY niva, ordning, rapport""",
        [year],
    ).fetchall()
    if not reports:
        raise LookupError(f"no result report for {year}: nothing loaded for that year")
    period = f"{SWEDISH_MONTHS[0]}-{SWEDISH_MONTHS[month - 1]} {year % 100:02d}"
    header = [
        "Tkr",
        "Kommunbidrag",
        "Nettokostnad",
        "Nettoresultat",
        "Årsprognos",
        "Förändr. fg. prognos",
        f"Helår {(year - 1) % 100:02d}",
    ]
    blocks = []
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
        table = [
            [label + (" *" if kind != "rad" else ""), *map(format_tkr, values)]
            for label, kind, *values in rows
        ]
        blocks.append(_table(f"{title}, {period}", header, table))
    if not blocks:
        raise LookupError(f"no ledger data for {year}-{month:02d}")
    return "\n\n".join(blocks) + "\n\n* total row\n"


def render_flags(con: duckdb.DuckDBPyConnection, year: int, month: int) -> str:
    """The lines marts.budgetavvikelse flags, with the reference forecasts beside the forecast."""
    rows = con.execute(
        """SELECT rapport, rapportrad, arsprognos, prognos_linjar, prognos_budgetkvot,
                  prognos_fg_ar_profil, flaggorsak
           FROM marts.budgetavvikelse WHERE ar = ? AND manad = ? AND flagga AND radtyp = 'rad'
           ORDER BY rapport, ordning""",
        [year, month],
    ).fetchall()
    if not rows:
        return "Budgetavvikelse: no line flagged."
    header = ["Flaggade rader", "Årsprognos", "Linjär", "Budgetkvot", "Fg. års profil"]
    table = [
        [f"{rapport} {rad}", *(format_tkr(_round_tkr(v)) for v in values)]
        for rapport, rad, *values, _ in rows
    ]
    reasons = "\n".join(f"  {rapport} {rad}: {reason}" for rapport, rad, *_, reason in rows)
    return _table("Budgetavvikelse (tkr)", header, table) + "\n" + reasons


def _round_tkr(value: Decimal | None) -> int | None:
    if value is None:
        return None
    return int((value / 1000).to_integral_value(rounding="ROUND_HALF_UP"))


def render_volume_table(con: duckdb.DuckDBPyConnection, year: int, month: int) -> str:
    """The month's verksamhetsmått per section, with the same month of the previous year."""
    rows = con.execute(
        """SELECT avsnitt, matt, ratt_text, varde_fg_ar, forandring_fg_ar_pct
           FROM marts.verksamhetsmatt WHERE ar = ? AND manad = ?
           ORDER BY avsnitt, matt_id""",
        [year, month],
    ).fetchall()
    if not rows:
        return f"Verksamhetsmått: nothing delivered for {year}-{month:02d}."
    month_name = SWEDISH_MONTHS[month - 1]
    header = [
        "Verksamhetsmått",
        f"{month_name} {year % 100:02d}",
        f"{month_name} {(year - 1) % 100:02d}",
        "Förändring %",
    ]
    blocks = []
    for section in dict.fromkeys(r[0] for r in rows):
        table = [
            [matt, text or "", _number(prior), _percent(change)]
            for avsnitt, matt, text, prior, change in rows
            if avsnitt == section
        ]
        blocks.append(_table(section, header, table))
    return "\n\n".join(blocks)


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:,.1f}".rstrip("0").rstrip(".").replace(",", " ").replace(".", ",")


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value:+.1f}".replace(".", ",")


def _table(title: str, header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  ".join(
            [cells[0].ljust(widths[0])]
            + [c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True)]
        )

    rule = "-" * len(line(header))
    return "\n".join([title, rule, line(header), rule, *map(line, rows), rule])
