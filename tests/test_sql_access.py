"""The controllers' first query works: the published file opens directly, `ifo sql` answers a
query or opens an interactive read-only shell (driven here through a pseudo-terminal)."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

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


def test_the_interactive_shell_is_read_only_on_the_published_file(demo):
    settings, _ = demo
    pid, fd = pty.fork()
    if pid == 0:  # the child: ifo sql, with the pseudo-terminal as its terminal
        os.environ["IFO_WAREHOUSE_DIR"] = str(settings.warehouse_dir)
        os.execv(IFO, [IFO, "sql"])
    output = b""

    def read_until(marker: bytes, seconds: float = 30) -> None:
        nonlocal output
        deadline = time.monotonic() + seconds
        while marker not in output and time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.5)
            if ready:
                try:
                    output += os.read(fd, 4096)
                except OSError:
                    break

    os.write(fd, (MARCH + ";\n").encode())
    read_until(b"-107")
    os.write(fd, b"CREATE TABLE marts.x AS SELECT 1;\n")
    read_until(b"read-only")
    os.write(fd, b".quit\n")
    os.waitpid(pid, 0)
    os.close(fd)
    text = output.decode("utf-8", "replace")
    assert "-107" in text
    assert "read-only" in text  # a controller cannot change the published file
