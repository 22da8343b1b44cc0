"""`ifo-dbt`: the dbt command the Dagster definitions run, dbt's own CLI but for `--version`.

dagster-dbt asks `dbt --version` on every dbt step, to tell dbt Core from the Fusion engine;
dbt answers after importing itself, about 2 s on this machine. The version is that of the
dbt-core package installed beside this one, which package metadata tells in milliseconds.
Everything else is `dbt.cli.main:cli`, exactly as dbt's own `dbt` console script runs it."""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import sys
import sysconfig

COMMAND = "ifo-dbt"


def executable() -> str:
    """The `ifo-dbt` script installed with this package (beside the interpreter's scripts,
    else on PATH); plain `dbt` if neither has it (then every step pays dbt's `--version`)."""
    beside = os.path.join(sysconfig.get_path("scripts"), COMMAND)
    return beside if os.path.isfile(beside) else (shutil.which(COMMAND) or "dbt")


def main() -> int:
    if sys.argv[1:] == ["--version"]:
        # The lines dbt prints first; dagster-dbt reads the first version number.
        print(f"Core:\n  - installed: {importlib.metadata.version('dbt-core')}")
        return 0
    from dbt.cli.main import cli

    return cli()


if __name__ == "__main__":
    sys.exit(main())
