"""The controllers' first query works: the published file opens directly, `ifo sql` answers a
query or opens an interactive read-only shell (driven here through a pseudo-terminal)."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from csv import reader as csv_reader
from pathlib import Path

import duckdb
from openpyxl import load_workbook

IFO = str(Path(sys.executable).parent / "ifo")
MARCH = (
    "SELECT nettoresultat_ack_tkr FROM marts.resultatrapport_tkr WHERE ar = 2019 AND manad = 3 "
    "AND rapport = 'IFO' AND radtyp = 'summa'"
)


def env_for(settings) -> dict[str, str]:
    return {**os.environ, "IFO_WAREHOUSE_DIR": str(settings.warehouse_dir)}


def test_a_query_prints_a_table_or_csv_and_a_mistake_gets_a_message(demo):
    settings, _ = demo
    table = subprocess.run(
        [IFO, "sql", MARCH], env=env_for(settings), capture_output=True, text=True
    )
    assert table.returncode == 0, table.stderr
    assert "nettoresultat_ack_tkr" in table.stdout and "-107" in table.stdout
    csv = subprocess.run(
        [IFO, "sql", MARCH, "--format", "csv"],
        env=env_for(settings),
        capture_output=True,
        text=True,
    )
    assert csv.stdout == "nettoresultat_ack_tkr\n-107\n"
    wrong = subprocess.run(
        [IFO, "sql", "SELECT * FROM marts.finns_inte"],
        env=env_for(settings),
        capture_output=True,
        text=True,
    )
    assert wrong.returncode == 1 and "finns_inte" in wrong.stderr
    assert "Traceback" not in wrong.stderr


def test_a_query_written_as_a_workbook_or_csv_never_holds_a_live_formula(demo, tmp_path):
    """Text from the warehouse goes into a workbook as text and into CSV neutralised (OWASP):
    a report line named '=HYPERLINK(…)' is shown, never run."""
    settings, _ = demo
    query = (
        "SELECT '=HYPERLINK(\"http://example.invalid\",\"x\")' AS etikett, '@SUM(1)' AS b, "
        "-5 AS tal, 'Barn och unga' AS rad"
    )
    book = tmp_path / "svar.xlsx"
    written = subprocess.run(
        [IFO, "sql", query, "--format", "xlsx", "--output", str(book)],
        env=env_for(settings),
        capture_output=True,
        text=True,
    )
    assert written.returncode == 0, written.stderr
    sheet = load_workbook(book).active
    assert [c.data_type for c in sheet[2]] == ["s", "s", "n", "s"]
    assert sheet["A2"].value.startswith("=HYPERLINK") and sheet["A2"].quotePrefix
    assert sheet["C2"].value == -5 and not sheet["D2"].quotePrefix
    printed = subprocess.run(
        [IFO, "sql", query, "--format", "csv"],
        env=env_for(settings),
        capture_output=True,
        text=True,
    )
    fields = next(csv_reader(printed.stdout.splitlines()[1:], delimiter=";"))
    assert fields == [
        '\'=HYPERLINK("http://example.invalid","x")',
        "'@SUM(1)",
        "-5",
        "Barn och unga",
    ]


# What a terminal answers when the DuckDB shell asks (background colour, device attributes,
# cursor position): without answers it waits, as it would in a terminal that never replies.
TERMINAL_ANSWERS = (
    (b"\x1b]11;?", b"\x1b]11;rgb:0000/0000/0000\x1b\\"),
    (b"\x1b[c", b"\x1b[?1;2c"),
    (b"\x1b[6n", b"\x1b[50;200R"),
)


def test_the_interactive_shell_is_read_only_on_the_published_file(demo):
    settings, _ = demo
    pid, fd = pty.fork()
    if pid == 0:  # the child: ifo sql, with the pseudo-terminal as its terminal
        os.environ["IFO_WAREHOUSE_DIR"] = str(settings.warehouse_dir)
        os.execv(IFO, [IFO, "sql"])
    # A terminal of 50 lines by 200 columns: the query fits on one line.
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
    output = b""
    answered = {query: 0 for query, _ in TERMINAL_ANSWERS}

    def read_until(marker: bytes, seconds: float = 30) -> None:
        nonlocal output
        deadline = time.monotonic() + seconds
        while marker not in output and time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                try:
                    output += os.read(fd, 4096)
                except OSError:
                    break
            for query, answer in TERMINAL_ANSWERS:
                while output.count(query) > answered[query]:
                    os.write(fd, answer)
                    answered[query] += 1

    try:
        read_until(b"Enter")
        os.write(fd, (MARCH + ";\r").encode())
        read_until(b"-107")
        os.write(fd, b"CREATE TABLE marts.x AS SELECT 1;\r")
        read_until(b"read-only")
        os.write(fd, b".quit\r")
        read_until(b"never", seconds=3)
    finally:
        os.kill(pid, 9) if os.waitpid(pid, os.WNOHANG) == (0, 0) else None
        os.close(fd)
    text = output.decode("utf-8", "replace")
    assert "-107" in text
    assert "read-only" in text  # a controller cannot change the published file


def test_every_query_in_the_sql_guide_runs_on_the_published_file(demo):
    """docs/sql.md's queries, as written, against the demo's ifo.duckdb opened read-only; the
    ones about the marts find rows (the sample refuses nothing, so the ops queries may not)."""
    settings, _ = demo
    guide = (Path(__file__).resolve().parent.parent / "docs" / "sql.md").read_text("utf-8")
    queries = re.findall(r"```sql\n(.*?)```", guide, re.S)
    assert len(queries) >= 10
    with duckdb.connect(str(settings.published_path), read_only=True) as con:
        for query in queries:
            rows = con.execute(query).fetchall()
            if "FROM marts." in query:
                assert rows, query
