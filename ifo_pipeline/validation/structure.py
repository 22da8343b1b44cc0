"""Cross-source rule: every unit with data in a year maps to exactly one report line that year."""

from __future__ import annotations

import duckdb

UNIT_YEARS = """
    SELECT DISTINCT period // 100 AS year, ansvar FROM raw.ledger_lines
    UNION SELECT DISTINCT period // 100, ansvar FROM raw.budget_lines
    UNION SELECT DISTINCT prognosmanad // 100, ansvar FROM raw.forecast_lines
"""


def unit_mapping_problems(con: duckdb.DuckDBPyConnection) -> list[str]:
    """One sentence per unit and year that maps to no report line, or to more than one."""
    rows = con.execute(f"""
        WITH unit_years AS ({UNIT_YEARS}),
        matches AS (
            SELECT u.year, u.ansvar, count(s.rapport) AS lines,
                   string_agg(s.rapport || ' / ' || s.rapportrad, ', '
                              ORDER BY s.rapport, s.rapportrad) AS where_to
            FROM unit_years u
            LEFT JOIN raw.report_structure s
                ON u.year BETWEEN s.giltig_fran AND coalesce(s.giltig_till, 9999)
                AND TRY_CAST(u.ansvar AS INTEGER) BETWEEN s.ansvar_fran AND s.ansvar_till
            GROUP BY u.year, u.ansvar
        )
        SELECT year, ansvar, lines, where_to FROM matches WHERE lines <> 1
        ORDER BY year, ansvar
    """).fetchall()
    return [
        f"Ansvar {ansvar} has data in {year} but no report line for {year} in "
        "config/rapportstruktur.csv"
        if lines == 0
        else f"Ansvar {ansvar} maps to {lines} report lines in {year} ({where_to})"
        for year, ansvar, lines, where_to in rows
    ]
