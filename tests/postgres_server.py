"""A real PostgreSQL server for the tests, from Debian's `postgresql` package (scripts/test.sh
installs it): a new cluster in a temporary folder, on a free port of 127.0.0.1, gone after."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.network import free_port

# The server refuses to run as root: as root, the cluster is the `postgres` user's.
SERVER_USER = "postgres"


def server_binaries() -> Path:
    """The folder of `initdb` and `pg_ctl`: Debian keeps them out of PATH, per version."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: p.parts)
    if not versions:
        raise RuntimeError(
            "PostgreSQL's server is not installed (Debian's postgresql package; "
            "scripts/test.sh installs it)"
        )
    return versions[-1].parent


@contextmanager
def postgres_server(database: str = "dagster") -> Iterator[str]:
    """Start a cluster with one database; yield its SQLAlchemy URL (psycopg2, the driver
    dagster-postgres installs; trust authentication on loopback)."""
    binaries = server_binaries()
    root = Path(tempfile.mkdtemp(prefix="ifo-postgres-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        owner = pwd.getpwnam(SERVER_USER)
        os.chown(root, owner.pw_uid, owner.pw_gid)
        as_user = ["runuser", "-u", SERVER_USER, "--"]
    data, port = root / "data", free_port()

    def run(*command: str) -> None:
        subprocess.run([*as_user, *command], check=True, capture_output=True, timeout=120)

    try:
        run(str(binaries / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
            "-E", "UTF8", "--no-sync")  # fmt: skip
        options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
        run(str(binaries / "pg_ctl"), "-D", str(data), "-o", options, "-l",
            str(root / "server.log"), "-w", "start")  # fmt: skip
        try:
            run(str(binaries / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U",
                "postgres", database)  # fmt: skip
            yield f"postgresql+psycopg2://postgres@127.0.0.1:{port}/{database}"
        finally:
            run(str(binaries / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop")
    finally:
        shutil.rmtree(root, ignore_errors=True)
