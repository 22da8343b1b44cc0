"""`ops.runs`: every run of the pipeline, in the warehouse itself, so that a failed run is
remembered by the next one and `ifo status` can say so without Dagster's run history."""

from __future__ import annotations

from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from ifo_pipeline.store.warehouse import connect


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    job: str
    started_at: datetime
    finished_at: datetime | None
    outcome: str  # running | succeeded | failed | interrupted | nothing_new
    published: bool
    months: str | None
    message: str | None


def start_run(warehouse_path: Path, run_id: str, job: str, months: str | None) -> None:
    with closing(connect(warehouse_path)) as con:
        # One run at a time: a run still 'running' was stopped before it could say so.
        con.execute(
            """UPDATE ops.runs SET outcome = 'interrupted', finished_at = now(),
                   message = 'stopped before it could record its outcome'
               WHERE outcome = 'running'"""
        )
        con.execute(
            """INSERT INTO ops.runs (run_id, job, started_at, outcome, published, months)
               VALUES (?, ?, now(), 'running', false, ?)""",
            [run_id, job, months],
        )


def finish_run(warehouse_path: Path, run_id: str, job: str, outcome: str, message: str) -> None:
    """The run's final outcome (a run the CLI did not start, from the UI or the daemon, gets
    its row here too)."""
    with closing(connect(warehouse_path)) as con:
        mark(con, run_id, job)
        con.execute(
            """UPDATE ops.runs SET outcome = ?, message = ?, finished_at = now()
               WHERE run_id = ?""",
            [outcome, message, run_id],
        )


def mark(con: duckdb.DuckDBPyConnection, run_id: str, job: str, published: bool = False) -> None:
    """Make sure the run has a row; with `published`, say that it published (the publish
    step calls this just before it copies ops.runs into the published file)."""
    if not con.execute("SELECT 1 FROM ops.runs WHERE run_id = ?", [run_id]).fetchone():
        con.execute(
            """INSERT INTO ops.runs (run_id, job, started_at, outcome, published)
               VALUES (?, ?, now(), 'running', false)""",
            [run_id, job],
        )
    if published:
        con.execute(
            """UPDATE ops.runs SET published = true, outcome = 'succeeded',
                   finished_at = now(), message = 'published'
               WHERE run_id = ?""",
            [run_id],
        )


def unmark_published(con: duckdb.DuckDBPyConnection, run_id: str) -> None:
    """The publish was refused after `mark(..., published=True)`: the run published nothing
    (its end is recorded by `finish_run`)."""
    con.execute(
        """UPDATE ops.runs SET published = false, outcome = 'running', finished_at = NULL,
               message = NULL
           WHERE run_id = ?""",
        [run_id],
    )


def last_runs(con: duckdb.DuckDBPyConnection) -> list[RunRecord]:
    """The latest run of each job, newest first."""
    rows = con.execute(
        """SELECT run_id, job, started_at, finished_at, outcome, published, months, message
           FROM ops.runs
           QUALIFY row_number() OVER (PARTITION BY job ORDER BY started_at DESC) = 1
           ORDER BY started_at DESC"""
    ).fetchall()
    return [RunRecord(*row) for row in rows]
