"""Several municipalities in one installation (docs/municipalities.md): three municipalities
landed in one region, run by `ifo run` as a controller's nightly job runs it.

One region is built for the module: Tyresö (0138, the CSV sample), Vaxholm (0187) and Täby
(0160), the last two delivering their ledgers as SIE 4 only. Then Täby's delivery breaks and a
fourth folder names the wrong municipality, and the next night must hold back only those.
"""

from __future__ import annotations

import re
from contextlib import closing
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from ifo_pipeline.sample.region import generate_region, generate_sie_municipality
from ifo_pipeline.settings import Settings
from tests.conftest import write_text
from tests.test_cli_operations import environment, ifo

CODES = ("0138", "0160", "0187")


@pytest.fixture(scope="module")
def region(tmp_path_factory) -> Settings:
    root = tmp_path_factory.mktemp("region")
    settings = Settings(warehouse_dir=root / "warehouse", landing_dir=root / "landing")
    generate_region(settings.landing_dir, rows_per_unit_month=4)
    generate_sie_municipality(settings.landing_dir / "0160", "0160", "Täby kommun", scale=1.7)
    done = ifo("run", "--offline", env=environment(settings))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "holds municipalities 0138, 0160, 0187" in done.stdout
    return settings


def tables(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    return con.execute(
        """SELECT schema_name, table_name FROM duckdb_tables()
           WHERE database_name = current_database() ORDER BY ALL"""
    ).fetchall()


def text_values(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Every text value of every table in the file."""
    found: set[str] = set()
    for schema, table, column in con.execute(
        """SELECT schema_name, table_name, column_name FROM duckdb_columns()
           WHERE database_name = current_database() AND data_type = 'VARCHAR'"""
    ).fetchall():
        rows = con.execute(f'SELECT DISTINCT "{column}" FROM {schema}.{table}').fetchall()
        found |= {value for (value,) in rows if value is not None}
    return found


def delivered_names(settings: Settings, code: str) -> set[str]:
    """The names of the files a municipality delivered."""
    folder = settings.landing_dir / code
    return {p.name for p in folder.rglob("*") if p.is_file() and p.suffix != ".json"}


def test_every_table_of_a_municipalitys_file_holds_its_own_rows_only(region):
    for code in CODES:
        path = region.for_municipality(code).published_path
        with closing(duckdb.connect(str(path), read_only=True)) as con:
            found = tables(con)
            assert ("marts", "resultatrapport") in found and ("ops", "load_log") in found
            for schema, table in found:
                columns = [
                    c
                    for (c,) in con.execute(
                        "SELECT column_name FROM duckdb_columns() WHERE schema_name = ? "
                        "AND table_name = ? ORDER BY column_index",
                        [schema, table],
                    ).fetchall()
                ]
                assert columns[0] == "kommunkod", f"{schema}.{table}: {columns[:3]}"
                codes = {
                    c
                    for (c,) in con.execute(
                        f"SELECT DISTINCT kommunkod FROM {schema}.{table}"
                    ).fetchall()
                }
                assert codes <= {code}, f"{code}'s {schema}.{table} holds {codes}"
            values = text_values(con)
        others = set().union(*(delivered_names(region, o) for o in CODES if o != code))
        own = delivered_names(region, code)
        assert own & values, f"{code}'s file names none of its own files"  # the probe can see
        assert not (others - own) & values, f"{code}'s file names {(others - own) & values}"


def test_no_byte_of_another_municipalitys_delivery_reaches_a_published_file_or_report(region):
    """The files' and reports' bytes, searched for the names of the others' ledger files
    (the probe can see: each file holds its own ledger file's name)."""
    markers = {
        "0138": b"huvudbok_2019_ack_201903",
        "0160": b"t\xc3\xa4by_huvudbok_2019",  # täby, in UTF-8
        "0187": b"vaxholm_huvudbok_2019",
    }
    for code in CODES:
        local = region.for_municipality(code)
        assert markers[code] in local.published_path.read_bytes()
        written = [local.published_path, *sorted(local.reports_dir.glob("*"))]
        assert {p.suffix for p in written} >= {".duckdb", ".html", ".xlsx"}
        for path in written:
            data = path.read_bytes()
            for other in CODES:
                if other != code:
                    assert markers[other] not in data, f"{path} holds {other}'s {markers[other]}"
    own = region.for_municipality("0187").reports_dir / "2019-03.html"
    assert "Ekonomiskt bistånd" in own.read_text(encoding="utf-8")


def test_the_region_file_holds_every_municipality_and_nothing_else(region):
    with closing(duckdb.connect(str(region.published_path), read_only=True)) as con:
        region_tables = tables(con)
        counts = {
            (s, t): dict(
                con.execute(f"SELECT kommunkod, count(*) FROM {s}.{t} GROUP BY 1").fetchall()
            )
            for s, t in region_tables
        }
    assert set(counts[("marts", "resultatrapport")]) == set(CODES)
    for code in CODES:
        path = region.for_municipality(code).published_path
        with closing(duckdb.connect(str(path), read_only=True)) as con:
            for schema, table in tables(con):
                rows = con.execute(f"SELECT count(*) FROM {schema}.{table}").fetchone()[0]
                assert counts[(schema, table)].get(code, 0) == rows, (code, schema, table)
    assert (region.published_path.stat().st_mode & 0o222) == 0  # read-only, as every published file


def sie_net_cost_by_unit(path: Path) -> dict[str, Decimal]:
    """An independent count: the SIE file's #TRANS amounts on result accounts (classes 3-7),
    by the object of dimension 1, read with a regular expression, not the pipeline's reader."""
    totals: dict[str, Decimal] = {}
    trans = re.compile(r'^#TRANS ([3-7][0-9]{3}) \{1 "([0-9]+)"[^}]*\} (-?[0-9.]+)')
    for line in path.read_bytes().decode("cp437").splitlines():
        match = trans.match(line)
        if match:
            totals[match[2]] = totals.get(match[2], Decimal(0)) + Decimal(match[3])
    return totals


def test_a_municipality_delivering_only_sie_gets_its_result_report_to_the_krona(region):
    """From configuration alone: its report structure, SIE dimensions and budget."""
    landing = region.landing_dir / "0187"
    by_unit = sie_net_cost_by_unit(next((landing / "sie").glob("*.se")))
    lines = {"7100": "Barn och unga", "7200": "Vuxna", "7300": "Ekonomiskt bistånd"}
    path = region.for_municipality("0187").published_path
    with closing(duckdb.connect(str(path), read_only=True)) as con:
        report = dict(
            con.execute(
                """SELECT rapportrad, nettokostnad_ack FROM marts.resultatrapport
               WHERE ar = 2019 AND manad = 3 AND rapport = 'IFO' AND radtyp = 'rad'"""
            ).fetchall()
        )
        total = con.execute(
            """SELECT nettokostnad_ack, kommunbidrag_ack FROM marts.resultatrapport
               WHERE ar = 2019 AND manad = 3 AND rapport = 'IFO' AND radtyp <> 'rad'"""
        ).fetchone()
        rejected = con.execute("SELECT count(*) FROM ops.rejects").fetchone()[0]
    assert report == {lines[unit]: -amount for unit, amount in by_unit.items()}
    assert total[0] == -sum(by_unit.values())
    # The budget: a twelfth of the year a month (the remainder in December).
    assert total[1] == 3 * (9_600_000 // 12 + 3_700_000 // 12 + 4_900_000 // 12)
    assert rejected == 0


@pytest.fixture(scope="module")
def next_night(region):
    """The next night: Tyresö's April lands, Täby's report structure breaks (a unit on two
    lines: a blocking check), and a fourth folder says it is another municipality."""
    before = {code: region.for_municipality(code).published_path.read_bytes() for code in CODES}
    tyreso = region.landing_dir / "0138" / "ledger" / "huvudbok_201904.csv"
    march = (region.landing_dir / "0138" / "ledger" / "huvudbok_201901.csv").read_text()
    write_text(tyreso, march.replace("201901;", "201904;").replace("2019-01-", "2019-04-"))
    structure = region.landing_dir / "0160" / "config" / "rapportstruktur.csv"
    write_text(structure, structure.read_text() + "2019;;7100;IFO;Vuxna;0;4\n")
    generate_sie_municipality(region.landing_dir / "0999", "0999", "Felkommun", seed=1)
    toml = region.landing_dir / "0999" / "config" / "kolada.toml"
    toml.write_text(toml.read_text().replace('"0999"', '"0187"'))
    done = ifo("run", "--offline", env=environment(region))
    status = ifo("status", env=environment(region))
    return before, done, status


def test_one_municipalitys_broken_delivery_holds_back_only_itself(region, next_night):
    before, done, status = next_night
    assert done.returncode == 1
    assert (
        "0160: ifo run failed" in done.stderr
        and "every_unit_maps_to_one_report_line" in done.stderr
    )
    assert "0999: the folder was refused" in done.stderr and "'0187'" in done.stderr
    assert "Not published tonight: 0160, 0999" in done.stderr
    # Täby keeps last night's file, byte for byte; Tyresö's has April, Vaxholm's is rewritten.
    assert region.for_municipality("0160").published_path.read_bytes() == before["0160"]
    assert not region.for_municipality("0999").published_path.exists()
    with closing(duckdb.connect(str(region.published_path), read_only=True)) as con:
        months = dict(
            con.execute(
                "SELECT kommunkod, max(ar * 100 + manad) FROM marts.huvudbok GROUP BY 1"
            ).fetchall()
        )
        codes = {
            c
            for (c,) in con.execute(
                "SELECT DISTINCT kommunkod FROM marts.resultatrapport"
            ).fetchall()
        }
    assert months == {"0138": 201904, "0160": 201903, "0187": 201903}
    assert codes == set(CODES)  # the region file keeps Täby's last good rows, and no 0999
    # ifo status names the municipality that needs a person, and why.
    assert status.returncode == 1
    assert "== Kommun 0160 ==" in status.stdout and "== Kommun 0999 ==" in status.stdout
    section = status.stdout.split("== Kommun 0160 ==")[1].split("== Kommun")[0]
    assert "failed" in section


def test_a_region_asks_which_municipality_a_command_is_for(region, next_night):
    env = environment(region)
    done = ifo("report", "--month", "2019-03", env=env)
    assert done.returncode == 2 and "--kommun" in done.stderr and "0138, 0160, 0187" in done.stderr
    done = ifo("report", "--kommun", "0200", env=env)
    assert done.returncode == 2 and "no municipality '0200'" in done.stderr
    done = ifo("report", "--kommun", "0187", "--month", "2019-03", env=env)
    assert done.returncode == 0 and "Ekonomiskt bistånd" in done.stdout
    done = ifo(
        "sql",
        "SELECT DISTINCT kommunkod FROM marts.rapporter ORDER BY 1",
        "--format",
        "csv",
        env=env,
    )
    assert done.returncode == 0 and done.stdout.split() == ["kommunkod", "0138", "0160", "0187"]
    done = ifo(
        "sql",
        "--kommun",
        "0160",
        "SELECT DISTINCT kommunkod FROM marts.rapporter",
        "--format",
        "csv",
        env=env,
    )
    assert done.stdout.split() == ["kommunkod", "0160"]


def test_files_at_the_root_of_a_region_are_named_not_loaded(tmp_path):
    settings = Settings(warehouse_dir=tmp_path / "warehouse", landing_dir=tmp_path / "landing")
    generate_sie_municipality(settings.landing_dir / "0187", "0187", "Vaxholms stad")
    stray = write_text(settings.landing_dir / "ledger" / "huvudbok_201905.csv", "Period\n")
    done = ifo("run", "--offline", env=environment(settings))
    assert done.returncode == 1
    assert "huvudbok_201905.csv" in done.stderr and "belong to no municipality" in done.stderr
    assert "0187: Run" in done.stdout and stray.exists()
