"""When dbt's incremental models (marts.huvudbok) must be rebuilt whole.

An incremental model rebuilds only the months whose ledger rows changed: the model finds them
itself, from the data (see huvudbok.sql). What the data cannot show is a change of the code
that computes them: a model's SQL, a macro, a var in dbt_project.yml. So the dbt step keeps the
fingerprint of the project it last built the incremental models with, beside the warehouse, and
builds with `--full-refresh` when the project differs (once, after an upgrade), when there is no
fingerprint yet, and when a run asks for it (`ifo run --force` or `--months`).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from ifo_pipeline.settings import DBT_PROJECT_DIR

PROJECT_FOLDERS = ("models", "macros", "tests", "seeds")
PROJECT_FILES = ("dbt_project.yml", "profiles.yml")


def dbt_project_files(project_dir: Path = DBT_PROJECT_DIR) -> list[Path]:
    """Every file the dbt project's behaviour depends on, in a stable order."""
    files = [project_dir / name for name in PROJECT_FILES]
    for folder in PROJECT_FOLDERS:
        files += [p for p in (project_dir / folder).rglob("*") if p.is_file()]
    return sorted(files)


def project_fingerprint(project_dir: Path = DBT_PROJECT_DIR) -> str:
    """SHA-256 over the project's files, names and contents (not their times: a fresh
    checkout of the same code is the same project)."""
    digest = hashlib.sha256()
    for path in dbt_project_files(project_dir):
        digest.update(path.relative_to(project_dir).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


class IncrementalBasis:
    """The fingerprint of the project the incremental models were last built whole or
    incrementally with, in one small file beside dbt's target folder."""

    def __init__(self, state_file: Path, project_dir: Path = DBT_PROJECT_DIR) -> None:
        self.state_file = state_file
        self.fingerprint = project_fingerprint(project_dir)

    def stale(self) -> bool:
        """The incremental models must be rebuilt whole before they can be trusted."""
        try:
            return self.state_file.read_text().strip() != self.fingerprint
        except OSError:
            return True

    def record(self) -> None:
        """After a successful build of the incremental models with this project."""
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        staging = self.state_file.with_name(f".{self.state_file.name}.{os.getpid()}.tmp")
        staging.write_text(self.fingerprint + "\n")
        os.replace(staging, self.state_file)
