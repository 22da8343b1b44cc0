"""Cross-source rules of the improvement plan and the goal indicators: every driver and every
indicator source names something the pipeline has. Read from the dbt build's staging and
intermediate relations, where the catalogue's names and aliases are resolved (dbt is the one
place that resolution lives)."""

from __future__ import annotations

import duckdb

RESOLVED_NAMES = "intermediate.int_catalogue__measure_names"


def _name_problem(where: str, name: str, measures: int | None) -> str:
    if not measures:
        return (
            f"{where}: '{name}' is not a measure of the catalogue "
            "(dbt_project/seeds/matt_katalog.csv: its id, name or an alias)"
        )
    return f"{where}: '{name}' names {measures} measures of the catalogue: use its id or an alias"


def unresolved_drivers(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Measures whose Matt names no measure of the catalogue, or more than one."""
    rows = con.execute(f"""
        SELECT m.measure_id, m.driver_name, n.measures
        FROM staging.stg_config__measures m
        LEFT JOIN {RESOLVED_NAMES} n ON n.name_key = lower(trim(m.driver_name))
        WHERE m.driver_name IS NOT NULL AND coalesce(n.measures, 0) <> 1
        ORDER BY m.measure_id""").fetchall()
    return [_name_problem(f"config/atgarder.csv {i}", name, n) for i, name, n in rows]


def unresolved_indicator_sources(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Indicators whose Kalla names no volume measure (or several), or a KPI not fetched."""
    measures = con.execute(f"""
        SELECT i.indicator_id, i.source_name, n.measures
        FROM staging.stg_config__goal_indicators i
        LEFT JOIN {RESOLVED_NAMES} n ON n.name_key = lower(trim(i.source_name))
        WHERE i.source_kind = 'verksamhetsmatt' AND coalesce(n.measures, 0) <> 1
        ORDER BY i.indicator_id""").fetchall()
    kpis = con.execute("""
        SELECT i.indicator_id, i.source_name
        FROM staging.stg_config__goal_indicators i
        WHERE i.source_kind = 'kolada' AND upper(i.source_name) NOT IN (
            SELECT kpi_id FROM staging.stg_kolada__kpis)
        ORDER BY i.indicator_id""").fetchall()
    return [_name_problem(f"config/malindikatorer.csv {i}", name, n) for i, name, n in measures] + [
        f"config/malindikatorer.csv {i}: KPI '{kpi}' is not fetched from Kolada "
        "(add it to kolada.toml's kpis)"
        for i, kpi in kpis
    ]
