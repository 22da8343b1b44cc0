"""Shared fixtures: real warehouses built in temporary directories, never mocks."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import duckdb
import pytest

from ifo_pipeline.runner import RunOutcome, run_pipeline
from ifo_pipeline.sample.generator import generate_sample
from ifo_pipeline.settings import Settings
from ifo_pipeline.store.warehouse import MACROS, connect
from tests.postgres_server import postgres_server

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared (the reference documents) is not beside the repository")
    return SHARED


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(warehouse_dir=tmp_path / "warehouse", landing_dir=tmp_path / "landing")


@pytest.fixture
def con(settings: Settings):
    connection = connect(settings.warehouse_path)
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def sql():
    """An in-memory DuckDB with the loaders' SQL macros (the parsing rules)."""
    con = duckdb.connect()
    con.execute(MACROS)
    yield con
    con.close()


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, RunOutcome]:
    """The demo: the sample exports landed and the whole Dagster job run once."""
    root = tmp_path_factory.mktemp("demo")
    settings = Settings(warehouse_dir=root / "warehouse", landing_dir=root / "landing")
    generate_sample(settings.landing_dir)
    outcome = run_pipeline(settings, offline=True)
    assert outcome.success, outcome.failure_message
    return settings, outcome


def read_semicolon_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, delimiter=";"))


def write_text(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


def reject_reasons(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The reasons in ops.rejects, in the order of the rejected lines."""
    rows = con.execute("SELECT reason FROM ops.rejects ORDER BY line_number").fetchall()
    return [reason for (reason,) in rows]


# Which copy a ledger line was read from: the delivered file, or its archived copy when a
# stopped run's months are reloaded. Provenance, not a figure: it may differ between histories.
PROVENANCE = {"huvudbok": "EXCLUDE (fil_sha256)"}


def marts(database: Path) -> dict[str, list]:
    """Every mart table of `database`, as rows in order: what a controller would read."""
    with closing(duckdb.connect(str(database), read_only=True)) as con:
        names = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts' ORDER BY 1"
            ).fetchall()
        ]
        return {
            n: con.execute(
                f"SELECT * {PROVENANCE.get(n, '')} FROM marts.{n} ORDER BY ALL"
            ).fetchall()
            for n in names
        }


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A real PostgreSQL server's database for Dagster's storage (tests/postgres_server.py)."""
    with postgres_server() as url:
        yield url
