"""What a real night brings, file by file: no crash, nothing erased that was not re-delivered,
no personal data kept, control totals checked (issue: hardening the ingest)."""

from __future__ import annotations

import hashlib
import os
import random
import sys
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from decimal import Decimal
from pathlib import Path

import pytest

from ifo_pipeline.ingest import load_source, load_volumes
from ifo_pipeline.ingest.csv_loader import load_file, reload_months
from ifo_pipeline.operations import large_replacements, pending_months, unbalanced_files
from ifo_pipeline.privacy import find_identity_numbers
from ifo_pipeline.sample.generator import fake_personnummer
from ifo_pipeline.store.archive import archive_masked
from ifo_pipeline.store.fileinfo import FileRejected, file_identity, inspect_file
from ifo_pipeline.store.sources import BUDGET, FORECASTS, LEDGER, REPORT_STRUCTURE
from tests.conftest import write_text
from tests.test_ledger_loading import HEADER, ledger_file

_RECORDING: list[tuple[Path, list[str]]] = []


def _record_open(event: str, args: tuple) -> None:
    if event == "open" and _RECORDING and isinstance(args[0], str | os.PathLike):
        path = Path(args[0])
        for folder, names in _RECORDING:
            if path.is_relative_to(folder):
                names.append(path.name)


sys.addaudithook(_record_open)  # an audit hook cannot be removed: it records only when asked


@contextmanager
def opened_in(folder: Path) -> Iterator[list[str]]:
    """The names of the files under `folder` that Python opens within, in any thread (Python's
    audit events: DuckDB's and Arrow's own reads are not seen)."""
    names: list[str] = []
    _RECORDING.append((folder, names))
    try:
        yield names
    finally:
        _RECORDING.remove((folder, names))


def rows_by_period(con) -> dict[int, tuple[int, Decimal]]:
    return {
        p: (n, s)
        for p, n, s in con.execute(
            "SELECT period, count(*), sum(belopp) FROM raw.ledger_lines GROUP BY 1 ORDER BY 1"
        ).fetchall()
    }


def line(period: str, amount: str, text: str = "x") -> str:
    return f"{period};5310;4630;56910;;;;{amount};V1;;{text}"


def load(con, settings, path):
    return load_file(con, LEDGER, path, settings.archive_dir, {})


# --- A delivery never erases more than it delivers -------------------------------------------


def test_a_year_to_date_file_then_a_corrected_month(con, settings, tmp_path):
    ytd = [line(f"20190{m}", "100,00") for m in (1, 2, 3) for _ in range(2)]
    assert load(con, settings, ledger_file(tmp_path, "ytd.csv", ytd)).outcome == "loaded"
    fixed = load(con, settings, ledger_file(tmp_path, "feb_fixed.csv", [line("201902", "5,00")]))
    assert fixed.periods == [201902]
    assert rows_by_period(con) == {
        201901: (2, Decimal("200.00")),
        201902: (1, Decimal("5.00")),
        201903: (2, Decimal("200.00")),
    }


def test_a_stray_row_of_a_closed_year_is_rejected_not_a_replacement(con, settings, tmp_path):
    may_2018 = [line("201805", "1 000,00") for _ in range(5)]
    load(con, settings, ledger_file(tmp_path, "2018.csv", may_2018))
    current = [line("201903", "10,00"), line("201805", "1,00", "felbokad")]
    result = load(con, settings, ledger_file(tmp_path, "2019.csv", current))
    assert (result.outcome, result.rows_loaded, result.rows_rejected) == (
        "loaded_with_rejects",
        1,
        1,
    )
    assert result.periods == [201903]
    assert rows_by_period(con)[201805] == (5, Decimal("5000.00"))
    reason = con.execute("SELECT reason FROM ops.rejects").fetchone()[0]
    assert reason == "period 201805 utanför filens år 2019"
    # The rejected row's krona is accounted for.
    assert unbalanced_files(con) == []


def test_a_year_end_file_loads_its_latest_year_and_rejects_the_earlier(con, settings, tmp_path):
    load(con, settings, ledger_file(tmp_path, "dec.csv", [line("201812", "7,00")] * 3))
    spanning = [line("201811", "1,00"), line("201812", "2,00"), line("201901", "3,00")]
    result = load(con, settings, ledger_file(tmp_path, "span.csv", spanning))
    assert (result.rows_loaded, result.rows_rejected, result.periods) == (1, 2, [201901])
    assert rows_by_period(con) == {
        201812: (3, Decimal("21.00")),
        201901: (1, Decimal("3.00")),
    }


def test_a_replacement_that_removes_most_of_a_period_is_recorded_and_flagged(
    con, settings, tmp_path
):
    load(con, settings, ledger_file(tmp_path, "mar.csv", [line("201903", "100,00")] * 10))
    small = load(con, settings, ledger_file(tmp_path, "mar2.csv", [line("201903", "100,00")]))
    assert small.outcome == "loaded"  # loaded, but not silently
    flagged = large_replacements(con, 0.5, [small.sha256])
    assert [(r.replaced_key, r.rows_before, r.rows_after) for r in flagged] == [("201903", 10, 1)]
    assert flagged[0].amount_before == Decimal("1000.00")
    assert "net 1 000,00 kr -> 100,00 kr" in flagged[0].describe()
    # A like-for-like correction is not flagged.
    same = load(con, settings, ledger_file(tmp_path, "mar3.csv", [line("201903", "99,00")]))
    assert large_replacements(con, 0.5, [same.sha256]) == []
    assert [r.file_name for r in large_replacements(con, 0.5)] == []


@pytest.mark.parametrize(
    "source, folder, header",
    [
        (LEDGER, "ledger", HEADER),
        (BUDGET, "budget", "Period;Ansvar;Kommunbidrag\n"),
        (FORECASTS, "prognos", "Prognosmanad;Ansvar;Prognos\n"),
        (
            REPORT_STRUCTURE,
            "config",
            "GiltigFran;GiltigTill;Ansvar;Rapport;Rapportrad;Sarskild;Ordning\n",
        ),
    ],
)
def test_a_header_without_rows_is_refused(con, settings, source, folder, header):
    name = "rapportstruktur.csv" if folder == "config" else "x_2019.csv"
    path = write_text(settings.landing_dir / folder / name, header)
    result = load_file(con, source, path, settings.archive_dir, {})
    assert result.outcome == "rejected"
    assert "header but no data rows" in result.message


def test_a_volume_file_with_only_its_header_does_not_erase_the_year(settings):
    folder = settings.landing_dir / "verksamhetsmatt"
    header = "Avsnitt;Matt;Jan;Feb;Mar;Apr;Maj;Jun;Jul;Aug;Sep;Okt;Nov;Dec\n"
    write_text(folder / "verksamhetsmatt_2019.csv", header + "Barn och unga;Antal;5;6;;;;;;;;;;\n")
    assert [f.outcome for f in load_volumes(settings)] == ["loaded"]
    os.utime(folder / "verksamhetsmatt_2019.csv", ns=(1, 1))  # landed first
    write_text(folder / "verksamhetsmatt_2019_ny.csv", header)
    loads = [f for f in load_volumes(settings) if f.outcome != "already_loaded"]
    assert [(f.outcome, "no measure rows" in f.message) for f in loads] == [("rejected", True)]
    from ifo_pipeline.store.warehouse import connect

    with connect(settings.warehouse_path) as con:
        assert con.execute("SELECT count(varde) FROM raw.volume_cells").fetchone()[0] == 2


# --- Control totals are checked, not just stored ---------------------------------------------


def test_a_total_row_that_disagrees_with_the_lines_refuses_the_file(con, settings, tmp_path):
    rows = [line("201903", "100,00"), line("201903", "50,00")]
    result = load(con, settings, ledger_file(tmp_path, "short.csv", rows, total="1 150,00"))
    assert result.outcome == "rejected"
    assert (
        "exportens totalrad säger 1 150,00 kr, raderna summerar till 150,00 kr: "
        "exporten är ofullständig" in result.message
    )
    assert "line 4" in result.message
    assert con.execute("SELECT count(*) FROM raw.ledger_lines").fetchone()[0] == 0


def test_with_unreadable_amounts_the_gap_loads_and_is_reported(con, settings, tmp_path):
    rows = [line("201903", "100,00"), line("201903", "5O,00")]
    result = load(con, settings, ledger_file(tmp_path, "gap.csv", rows, total="150,00"))
    assert result.outcome == "loaded_with_rejects"
    [gap] = unbalanced_files(con)
    assert (gap.file_name, gap.difference, gap.control_difference) == (
        "gap.csv",
        Decimal("0"),
        Decimal("50.00"),
    )
    assert "differs from its lines by 50,00 kr" in gap.describe()


def test_an_amount_outside_the_valid_range_is_a_row_reject(con, settings, tmp_path):
    rows = [line("201903", "100 000 000 000 000 000,00"), line("201903", "1,00")]
    result = load(con, settings, ledger_file(tmp_path, "huge.csv", rows))
    assert (result.outcome, result.rows_loaded, result.rows_rejected) == (
        "loaded_with_rejects",
        1,
        1,
    )
    reason = con.execute("SELECT reason FROM ops.rejects").fetchone()[0]
    assert "belopp utanför giltigt intervall" in reason


# --- Every file gets an outcome, never a crash -----------------------------------------------


def test_inspect_file_text_false_on_decodable_bytes_says_binary(tmp_path):
    path = tmp_path / "x.xlsx"
    path.write_bytes(b"Avsnitt;Matt\nplain text in a workbook's name\n")
    assert inspect_file(path, text=False).encoding == "binary"


def test_a_file_rewritten_in_place_gets_its_new_identity(tmp_path):
    """file_identity remembers a file's hash for the process; a rewrite is not mistaken for
    the bytes it replaced, even at the same size."""
    path = tmp_path / "huvudbok_2019.csv"
    path.write_bytes(b"Period;Belopp\n201901;1,00\n")
    first = file_identity(path)
    assert file_identity(path) == first
    path.write_bytes(b"Period;Belopp\n201901;2,00\n")
    assert file_identity(path) == hashlib.sha256(path.read_bytes()).hexdigest() != first


def test_a_night_does_not_read_a_loaded_file_again(settings, tmp_path):
    """The months a night covers are found by hashing the landed files; the load then knows
    a loaded file by that hash and does not read it again. A new file is read in full."""
    first = ledger_file(tmp_path, "huvudbok_201901.csv", [line("201901", "1,00")])
    assert [f.outcome for f in load_source(settings, LEDGER)] == ["loaded"]
    second = ledger_file(tmp_path, "huvudbok_201902.csv", [line("201902", "2,00")])
    assert pending_months(settings) == ({201902}, False)  # hashes both
    with opened_in(settings.landing_dir) as read:
        loads = load_source(settings, LEDGER)
    assert [(f.file_name, f.outcome) for f in loads] == [
        (first.name, "already_loaded"),
        (second.name, "loaded"),
    ]
    assert read == [second.name]


@pytest.fixture
def new_process(monkeypatch):
    """What a later process knows of the files' hashes: nothing but the kept file. Returns the
    names of the files it reads in full."""
    from ifo_pipeline.store import fileinfo

    read: list[str] = []

    def start() -> list[str]:
        monkeypatch.setattr(fileinfo, "_IDENTITIES", {})
        monkeypatch.setattr(fileinfo, "_SETTLED", set())
        read.clear()
        return read

    monkeypatch.setattr(
        fileinfo,
        "inspect_file",
        lambda path, text=True: read.append(path.name) or inspect_file(path, text),
    )
    return start


def test_the_next_night_knows_a_settled_file_without_reading_it(
    settings, tmp_path, monkeypatch, new_process
):
    """The landed files' hashes are kept across runs by inode, size and times: a night reads
    only what is new, not the whole landed history. The kept file holds no file name."""
    from ifo_pipeline.store import fileinfo

    monkeypatch.setattr(fileinfo, "SETTLE_SECONDS", -1.0)  # every file counts as settled
    name = f"huvudbok_{fake_personnummer(random.Random(7))}.csv"
    ledger_file(tmp_path, name, [line("201901", "1,00")])
    new_process()
    assert pending_months(settings) == ({201901}, False)
    kept = settings.file_identities.read_text()
    assert "huvudbok" not in kept and name.split("_")[1][:6] not in kept

    read = new_process()
    assert pending_months(settings) == ({201901}, False)
    assert read == []


def test_a_file_rewritten_in_place_is_read_again_the_next_night(
    settings, tmp_path, monkeypatch, new_process
):
    """Same size, modification time put back: the change time still moves with the write."""
    from ifo_pipeline.store import fileinfo

    monkeypatch.setattr(fileinfo, "SETTLE_SECONDS", -1.0)
    path = ledger_file(tmp_path, "huvudbok_2019.csv", [line("201901", "1,00")])
    new_process()
    assert pending_months(settings) == ({201901}, False)
    before = path.stat()
    time.sleep(0.05)  # past the clock tick of the file's times
    path.write_bytes(path.read_bytes().replace(b"201901;", b"201902;"))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    read = new_process()
    assert pending_months(settings) == ({201902}, False)
    assert read == [path.name]


def test_a_file_just_written_is_not_kept_and_a_broken_kept_file_is_hashed_over(
    settings, tmp_path, new_process
):
    """A file changed within the last seconds may change again without its times showing it
    (a coarse clock, a network share): its hash serves the process that took it only."""
    path = ledger_file(tmp_path, "huvudbok_2019.csv", [line("201901", "1,00")])
    new_process()
    assert pending_months(settings) == ({201901}, False)
    read = new_process()
    assert pending_months(settings) == ({201901}, False)
    assert read == [path.name]

    settings.file_identities.write_text('{"not": "an entry"')
    read = new_process()
    assert pending_months(settings) == ({201901}, False)
    assert read == [path.name]


def test_a_directory_and_a_dangling_link_are_refused_once(settings):
    folder = settings.landing_dir / "ledger"
    (folder / "katalog.csv").mkdir(parents=True)
    (folder / "lank.csv").symlink_to(folder / "finns_inte.csv")
    months, unreadable = pending_months(settings)
    assert unreadable and months == set()
    first = load_source(settings, LEDGER)
    assert sorted((f.file_name, f.outcome) for f in first) == [
        ("katalog.csv", "rejected"),
        ("lank.csv", "rejected"),
    ]
    assert "a directory" in first[0].message + first[1].message
    assert "a link to a missing file" in first[0].message + first[1].message
    assert {f.outcome for f in load_source(settings, LEDGER)} == {"already_loaded"}


def test_a_column_mapping_saved_by_excel_in_windows_1252(settings):
    write_text(
        settings.landing_dir / "config" / "kolumnmappning.csv",
        "Exportkolumn;Kolumn\nPeriod;Period\nAnsvarsområde;Ansvar\nKonto;Konto\n"
        "Verksamhet;Verksamhet\nBelopp (kr);Belopp\n",
        encoding="cp1252",
    )
    write_text(
        settings.landing_dir / "ledger" / "gammal.csv",
        "Period;Ansvarsområde;Konto;Verksamhet;Belopp (kr)\n201903;5310;4630;569;12,00\n",
        encoding="cp1252",
    )
    [result] = load_source(settings, LEDGER)
    assert (result.outcome, result.rows_loaded) == ("loaded", 1)


def test_a_broken_column_mapping_is_refused_and_the_ledger_still_loads(settings):
    write_text(settings.landing_dir / "config" / "kolumnmappning.csv", "")
    ledger_file(settings.landing_dir.parent, "jan.csv", [line("201901", "1,00")])
    loads = load_source(settings, LEDGER)
    assert [(f.outcome, "kolumnmappning.csv" in f.message) for f in loads] == [
        ("rejected", True),
        ("loaded", False),
    ]


def test_a_file_that_changes_while_it_is_read_is_refused(settings, tmp_path):
    path = ledger_file(tmp_path, "growing.csv", [line("201903", "1,00")])
    info = inspect_file(path)
    with path.open("a") as fh:  # the export job is still writing
        fh.write(line("201903", "2,00") + "\n")
    with pytest.raises(FileRejected, match="changed while it was read"):
        archive_masked(info, "ledger", settings.archive_dir)
    assert not list(settings.archive_dir.rglob("growing.csv"))


def test_a_file_written_to_while_it_is_read_for_its_archive_is_refused(
    settings, tmp_path, monkeypatch
):
    """The one read that hashes and archives a new file cannot see a writer by comparing two
    hashes: the file's size and times before and after the read tell."""
    from ifo_pipeline.store import archive

    path = ledger_file(tmp_path, "growing.csv", [line("201903", "1,00")])
    mask_bytes = archive.mask_bytes

    def masked_while_the_export_writes(data: bytes) -> bytes:
        with path.open("a") as fh:
            fh.write(line("201903", "2,00") + "\n")
        return mask_bytes(data)

    monkeypatch.setattr(archive, "mask_bytes", masked_while_the_export_writes)
    with pytest.raises(FileRejected, match="changed while it was read"):
        archive.inspect_and_archive(path, "ledger", settings.archive_dir)
    assert not list(settings.archive_dir.rglob("growing.csv"))


# --- No personal data stored ------------------------------------------------------------------


def test_the_archive_holds_the_masked_bytes_and_a_reload_gives_the_same_rows(
    con, settings, tmp_path
):
    rng = random.Random(7)
    pnr = [fake_personnummer(rng) for _ in range(4)]
    date, tail = pnr[0].split("-")
    rows = [
        line("201903", "10,00", f"avser {date} {tail}"),
        line("201903", "20,00", f"avser {pnr[1].replace('-', '–')}"),
        f"201903;5310;4630;56910;;;;30,00;{pnr[2].replace('-', '')};;verifikation",
        line("201903", "4O,00", f"felaktigt belopp, {pnr[3]}"),
    ]
    path = ledger_file(tmp_path, "mars.csv", rows)
    result = load(con, settings, path)
    assert (result.rows_loaded, result.rows_rejected) == (3, 1)
    sha, archived, archived_sha = con.execute(
        "SELECT file_sha256, archived_as, archived_sha256 FROM ops.load_log"
    ).fetchone()
    assert sha == hashlib.sha256(path.read_bytes()).hexdigest()  # identity: what was delivered
    archived_bytes = Path(archived).read_bytes()
    assert archived_sha == hashlib.sha256(archived_bytes).hexdigest() != sha
    assert find_identity_numbers(archived_bytes.decode()) == []
    assert archived_bytes.count(b"[personnummer]") == 4
    everything = " ".join(
        str(v)
        for table in ("raw.ledger_lines", "ops.rejects", "ops.load_log")
        for row in con.execute(f"SELECT * FROM {table}").fetchall()
        for v in row
    )
    assert find_identity_numbers(everything) == []
    before = con.execute(
        "SELECT * EXCLUDE (file_sha256) FROM raw.ledger_lines ORDER BY 1"
    ).fetchall()
    reload_months(con, LEDGER, [201903])
    after = con.execute(
        "SELECT * EXCLUDE (file_sha256) FROM raw.ledger_lines ORDER BY 1"
    ).fetchall()
    assert after == before


def test_status_names_unbalanced_files_and_large_replacements(con, settings, tmp_path):
    from datetime import date

    from ifo_pipeline.operations import status_report

    load(con, settings, ledger_file(tmp_path, "ok.csv", [line("201903", "1,00")] * 4))
    assert "every file balances" in status_report(con, date(2019, 4, 2), 10).text
    load(con, settings, ledger_file(tmp_path, "ok2.csv", [line("201903", "1,00")]))
    rows = [line("201904", "100,00"), line("201904", "5O,00")]
    load(con, settings, ledger_file(tmp_path, "gap.csv", rows, total="150,00"))
    report = status_report(con, date(2019, 5, 2), 10).text
    assert "every file balances" not in report
    assert "UNBALANCED: 1 file(s)" in report and "gap.csv" in report
    assert (
        "LARGE REPLACEMENTS" in report and "ledger 201903: ok2.csv replaced 4 rows with 1" in report
    )


def test_a_stop_during_a_load_is_a_stop_never_a_refused_file():
    import duckdb

    from ifo_pipeline.ingest.lifecycle import unreadable

    # How DuckDB reports a signal that arrived while it read the file (seen in a real run).
    for stop in (RuntimeError("Query interrupted"), duckdb.InterruptException("x")):
        with pytest.raises(KeyboardInterrupt):
            unreadable(stop)
    assert "ValueError: broken" in unreadable(ValueError("broken")).reason


def test_an_older_warehouse_is_migrated_once_and_then_left_alone(settings):
    """The raw and ops tables are created and migrated once per version of their DDL: a
    warehouse from before a column existed gets it; the next connection runs no DDL."""
    import duckdb

    from ifo_pipeline.store.warehouse import DDL_VERSION, connect

    settings.warehouse_path.parent.mkdir(parents=True)
    with duckdb.connect(str(settings.warehouse_path)) as old:
        old.execute("CREATE SCHEMA ops")
        old.execute(
            """CREATE TABLE ops.rejects (file_sha256 VARCHAR NOT NULL, file_name VARCHAR NOT
               NULL, source VARCHAR NOT NULL, line_number BIGINT, raw VARCHAR, reason VARCHAR
               NOT NULL, amount DECIMAL(18, 2), rejected_at TIMESTAMP NOT NULL)"""
        )
    with closing(connect(settings.warehouse_path)) as con:
        columns = {r[0] for r in con.execute("DESCRIBE ops.rejects").fetchall()}
        assert "period" in columns  # migrated
        assert con.execute("SELECT version FROM meta.ddl").fetchone() == (DDL_VERSION,)
        assert con.execute("SELECT count(*) FROM raw.ledger_lines").fetchone() == (0,)
        con.execute("ALTER TABLE ops.rejects DROP COLUMN period")
    with closing(connect(settings.warehouse_path)) as con:  # the same version: no DDL run
        columns = {r[0] for r in con.execute("DESCRIBE ops.rejects").fetchall()}
        assert "period" not in columns


def test_a_held_warehouse_is_shared_within_the_process_and_released_for_others(settings):
    """While a run holds the warehouse open, a connection that wrote closes without a
    checkpoint (its writes wait in the WAL) and another process cannot open the file; once
    released, the file is checkpointed and open to dbt's process again."""
    import subprocess
    import sys

    from ifo_pipeline.store.warehouse import connect, held_open, release

    path = settings.warehouse_path
    wal = path.with_name(path.name + ".wal")
    opener = [sys.executable, "-c", f"import duckdb; duckdb.connect({str(path)!r}).close()"]
    with held_open(path):
        with closing(connect(path)) as con:
            con.execute("CREATE TABLE main.written AS SELECT 1 AS x")
        assert wal.exists() and wal.stat().st_size > 0  # not checkpointed at the close
        locked = subprocess.run(opener, capture_output=True, text=True)
        assert locked.returncode != 0 and "lock" in locked.stderr.lower()
        release(path)  # as the dbt step does before it starts dbt
        assert subprocess.run(opener).returncode == 0
        assert not wal.exists() or wal.stat().st_size == 0
    with closing(connect(path)) as con:
        assert con.execute("SELECT x FROM main.written").fetchone() == (1,)


# --- The next file is hashed and archived while the one before it loads ----------------------


def test_the_same_bytes_twice_in_one_night_are_archived_once(settings, tmp_path):
    first = ledger_file(tmp_path, "huvudbok_a.csv", [line("201901", "1,00")])
    second = tmp_path / "landing" / "ledger" / "huvudbok_b.csv"
    second.write_bytes(first.read_bytes())
    os.utime(second, ns=(first.stat().st_mtime_ns + 1,) * 2)  # landed after the first
    loads = load_source(settings, LEDGER)
    assert [f.outcome for f in loads] == ["loaded", "already_loaded"]
    assert loads[1].message == f"same bytes as {first.name}, already loaded"
    archived = sorted(p.name for p in (settings.archive_dir / "ledger").rglob("*.csv"))
    assert archived == [first.name]


def test_a_file_the_archive_cannot_take_is_refused_and_the_next_one_loads(settings, tmp_path):
    """An error met while archiving ahead is the file's outcome, as if met in its load."""
    first = ledger_file(tmp_path, "huvudbok_a.csv", [line("201901", "1,00")])
    later = ledger_file(tmp_path, "huvudbok_b.csv", [line("201902", "2,00")])
    os.utime(later, ns=(later.stat().st_mtime_ns + 10**9,) * 2)
    # Where the first file's archive folder would go, a file stands in the way.
    sha256 = hashlib.sha256(first.read_bytes()).hexdigest()
    write_text(settings.archive_dir / "ledger" / sha256, "not a folder")
    loads = load_source(settings, LEDGER)
    assert [(f.file_name, f.outcome) for f in loads] == [
        ("huvudbok_a.csv", "rejected"),
        ("huvudbok_b.csv", "loaded"),
    ]
    assert "the archive cannot take the file (FileExistsError" in loads[0].message
    assert not list(settings.archive_dir.rglob(".*.tmp"))  # no staging copy left behind


def test_an_error_met_while_masking_ahead_refuses_that_file_and_the_next_one_loads(
    settings, tmp_path, monkeypatch
):
    """Whatever goes wrong while a file is prepared ahead (here the masking itself fails on
    it) is met again by its load, which refuses that file with the reason; the night goes on."""
    from ifo_pipeline.store import archive

    ledger_file(tmp_path, "huvudbok_a.csv", [line("201901", "1,00", "trasig")])
    later = ledger_file(tmp_path, "huvudbok_b.csv", [line("201902", "2,00")])
    os.utime(later, ns=(later.stat().st_mtime_ns + 10**9,) * 2)
    mask_bytes = archive.mask_bytes

    def fails_on_one_file(data: bytes) -> bytes:
        if b"trasig" in data:
            raise ValueError("the masking broke on these bytes")
        return mask_bytes(data)

    monkeypatch.setattr(archive, "mask_bytes", fails_on_one_file)
    loads = load_source(settings, LEDGER)
    assert [(f.file_name, f.outcome) for f in loads] == [
        ("huvudbok_a.csv", "rejected"),
        ("huvudbok_b.csv", "loaded"),
    ]
    assert "the masking broke on these bytes" in loads[0].message


def test_a_new_file_is_read_once_for_its_identity_encoding_and_archive(settings, tmp_path):
    """After `ifo run`'s look for the new months (which hashes the landed files), the load
    takes a new file's hash, encoding and masked archive copy from one read of it, and parses
    the archived copy."""
    rng = random.Random(3)
    pnr = fake_personnummer(rng)
    landed = ledger_file(tmp_path, "huvudbok_2019.csv", [line("201901", "1,00", f"avser {pnr}")])
    assert pending_months(settings) == ({201901}, False)
    with opened_in(settings.landing_dir) as opened:
        [loaded] = load_source(settings, LEDGER)
    assert loaded.outcome == "loaded"
    assert opened == [landed.name]
    [copy] = (settings.archive_dir / "ledger").rglob("huvudbok_2019.csv")
    assert copy.parent.name == hashlib.sha256(landed.read_bytes()).hexdigest()
    assert copy.read_bytes() == landed.read_bytes().replace(pnr.encode(), b"[personnummer]")


def test_a_run_started_elsewhere_does_not_read_the_loaded_files(
    settings, tmp_path, monkeypatch, new_process
):
    """A run the UI or a sensor starts loads without `ifo run`'s look for new months: the
    hashes kept across runs still spare it reading (and masking) the files loaded before."""
    from ifo_pipeline.store import fileinfo

    monkeypatch.setattr(fileinfo, "SETTLE_SECONDS", -1.0)  # every file counts as settled
    first = ledger_file(tmp_path, "huvudbok_201901.csv", [line("201901", "1,00")])
    assert [f.outcome for f in load_source(settings, LEDGER)] == ["loaded"]
    second = ledger_file(tmp_path, "huvudbok_201902.csv", [line("201902", "2,00")])
    new_process()
    with opened_in(settings.landing_dir) as opened:
        loads = load_source(settings, LEDGER)
    assert [(f.file_name, f.outcome) for f in loads] == [
        (first.name, "already_loaded"),
        (second.name, "loaded"),
    ]
    assert opened == [second.name, second.name]  # its hash, then the read that archives it


def test_the_staging_copies_a_stopped_run_left_in_the_archive_are_removed(settings, tmp_path):
    """A run killed while it copied a file into the archive leaves its staging copy (up to a
    whole yearly file); the next load of that source removes it, and keeps the archive."""
    path = ledger_file(tmp_path, "huvudbok_2019.csv", [line("201901", "1,00")])
    assert [f.outcome for f in load_source(settings, LEDGER)] == ["loaded"]
    [archived] = (settings.archive_dir / "ledger").rglob(path.name)
    left = [
        write_text(settings.archive_dir / "ledger" / ".incoming.4242.1.tmp", "half a file"),
        write_text(archived.parent / f".{path.name}.4242.tmp", "half a file"),
    ]
    assert [f.outcome for f in load_source(settings, LEDGER)] == ["already_loaded"]
    assert not any(p.exists() for p in left)
    assert archived.read_bytes() == path.read_bytes()

    from ifo_pipeline.ingest.volumes import VOLUMES

    left = write_text(settings.archive_dir / VOLUMES.folder / ".incoming.4242.1.tmp", "half")
    assert load_volumes(settings) == []
    assert not left.exists()


def test_the_archive_copy_masks_lines_across_its_batches(settings, tmp_path):
    """The copy is masked many megabytes at a time: a personnummer on the line that straddles
    a batch's end, or on the last line without a line break, is masked all the same."""
    from ifo_pipeline.store.archive import CHUNK, inspect_and_archive

    pnr = fake_personnummer(random.Random(5))
    filler = (line("201901", "1,00", "x" * 60) + "\n").encode()
    before_end = CHUNK - len(filler) // 2  # the straddling line starts half a line before
    data = (HEADER + "\n").encode() + filler * (before_end // len(filler) - 1)
    data += b"y" * (before_end - len(data) - 1) + b"\n"
    data += (line("201901", "2,00", f"avser {pnr}") + "\n").encode() + filler * 10
    data += line("201901", "3,00", f"avser {pnr}").encode()
    path = tmp_path / "huvudbok_2019.csv"
    path.write_bytes(data)
    info, archived = inspect_and_archive(path, "ledger", settings.archive_dir)
    assert info.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    masked = path.read_bytes().replace(pnr.encode(), b"[personnummer]")
    assert archived.path.read_bytes() == masked
    assert archived.sha256 == hashlib.sha256(masked).hexdigest()
    # Bytes seen before are not archived again; the copy's staging file is gone either way.
    assert inspect_and_archive(path, "other", settings.archive_dir, {info.sha256})[1] is None
    assert not list(settings.archive_dir.rglob(".*.tmp"))
    assert not (settings.archive_dir / "other" / info.sha256).exists()
