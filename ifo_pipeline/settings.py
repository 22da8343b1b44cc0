"""Where things live and how the pipeline behaves: one `Settings`, built once from the
environment (never at import), used by the CLI, the Dagster resources and dbt alike.

`IFO_WAREHOUSE_DIR` names the warehouse for Dagster, dbt (profiles.yml) and the CLI. Unset, the
warehouse is found the way git finds a repository: the nearest `warehouse/` holding `ifo.duckdb`
from the working directory up; in the project's own root a new one may be made there. Anywhere
else `ifo` refuses rather than silently making an empty warehouse in a random directory.

Each default is written once, in the table below; a value that cannot be right (a due day of
40, a bad cron expression) is refused at start, naming the variable.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, fields, replace
from pathlib import Path

from croniter import croniter

WAREHOUSE_DIR_ENV = "IFO_WAREHOUSE_DIR"
LANDING_DIR_ENV = "IFO_LANDING_DIR"
# The municipality a dbt build is for (the marts' `kommunkod`): set by the pipeline, per build.
KOMMUNKOD_ENV = "IFO_KOMMUNKOD"
# Several municipalities in one installation (docs/municipalities.md): a landing folder per
# municipality code, and under the warehouse a folder per municipality with its own files.
MUNICIPALITY_DIR = "kommun"
MUNICIPALITY_CODE = re.compile(r"[0-9]{4}")
TIMEZONE = "Europe/Stockholm"  # the schedule's clock and the partitions' calendar
WORKING_DATABASE = "pipeline.duckdb"  # the pipeline's own; only the pipeline opens it
PUBLISHED_DATABASE = "ifo.duckdb"  # what controllers open, read-only
# The storage format of the database files the pipeline creates. DuckDB 1.5 still writes new
# files readable by 1.0 unless told otherwise; from v1.3.0 on it compresses text with one
# combined dictionary and FSST pass: writing ten million ledger lines takes a third less time
# (publishing marts.huvudbok 5.9 s -> 3.9 s, the ledger's insert 4.9 s -> 3.3 s), for the same
# file size and scan speed. Opening the files takes DuckDB 1.3 or newer (the README asks for 1.5).
STORAGE_VERSION = "v1.3.0"

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"


class SettingsError(ValueError):
    """A setting that cannot be right; the message names the variable and the valid form."""


@dataclass(frozen=True)
class Settings:
    warehouse_dir: Path
    landing_dir: Path
    kolada_base_url: str = "https://api.kolada.se/v3"
    # When the nightly run starts (Europe/Stockholm); the Kolada fetch runs as its own job.
    nightly_cron: str = "0 2 * * *"
    kolada_cron: str = "30 1 * * *"
    # The whole Kolada fetch, retries included, gives up after this many seconds.
    kolada_deadline_seconds: int = 180
    ledger_due_day: int = 10  # last month's ledger export is late after this day
    first_month: str = "2015-01"  # the first accounting month with a partition
    # A delivery that removes more than this share of a replaced period's rows or net amount
    # loads, but raises a warning (a truncated re-export looks exactly like that).
    replacement_warning_share: float = 0.5
    # The municipality code of a region's municipality (its folder); empty in a single-
    # municipality install, whose code is config/kolada.toml's home_municipality.
    municipality: str = ""

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, cwd: Path | None = None) -> Settings:
        """The settings of this environment; raises SettingsError for a wrong value."""
        env = os.environ if environ is None else environ
        warehouse_dir = find_warehouse(env, cwd or Path.cwd())
        landing = env.get(LANDING_DIR_ENV)
        values: dict[str, object] = {
            "warehouse_dir": warehouse_dir,
            "landing_dir": Path(landing).resolve() if landing else warehouse_dir / "landing",
        }
        for f in fields(cls):
            name = ENV_NAMES.get(f.name)
            if name and env.get(name):
                values[f.name] = _convert(name, env[name], type(f.default))
        settings = cls(**values)
        settings.validate()
        return settings

    def validate(self) -> None:
        problems = []
        for field_name in ("nightly_cron", "kolada_cron"):
            if not is_cron(getattr(self, field_name)):
                problems.append(
                    f"{ENV_NAMES[field_name]}={getattr(self, field_name)!r} is not a cron "
                    "expression (five fields, e.g. '0 2 * * *')"
                )
        if not 0 <= self.ledger_due_day <= 28:
            problems.append(
                f"{ENV_NAMES['ledger_due_day']}={self.ledger_due_day} must be a day of the month "
                "from 1 to 28 (0: no freshness expectation)"
            )
        if not re.fullmatch(r"(19|20)[0-9]{2}-(0[1-9]|1[0-2])", self.first_month):
            problems.append(f"{ENV_NAMES['first_month']}={self.first_month!r} must be YYYY-MM")
        if not 0 < self.replacement_warning_share <= 1:
            problems.append(
                f"{ENV_NAMES['replacement_warning_share']}={self.replacement_warning_share} "
                "must be a share above 0 and at most 1 (0.5 = 50 %)"
            )
        if not 10 <= self.kolada_deadline_seconds <= 3600:
            problems.append(
                f"{ENV_NAMES['kolada_deadline_seconds']}={self.kolada_deadline_seconds} must be "
                "from 10 to 3600 seconds"
            )
        if not re.match(r"https?://", self.kolada_base_url):
            problems.append(
                f"{ENV_NAMES['kolada_base_url']}={self.kolada_base_url!r} must be an http(s) URL"
            )
        if self.landing_dir.exists() and not self.landing_dir.is_dir():
            problems.append(f"{LANDING_DIR_ENV}={self.landing_dir} is a file, not a directory")
        if problems:
            raise SettingsError("; ".join(problems))

    @property
    def warehouse_path(self) -> Path:
        """The pipeline's own working warehouse; only the pipeline opens it."""
        return self.warehouse_dir / WORKING_DATABASE

    @property
    def published_path(self) -> Path:
        """The copy controllers read (read-only), replaced atomically after a good run."""
        return self.warehouse_dir / PUBLISHED_DATABASE

    @property
    def archive_dir(self) -> Path:
        return self.warehouse_dir / "archive"

    @property
    def reports_dir(self) -> Path:
        """The month reports the nightly run writes (YYYY-MM.html, .xlsx, .pdf)."""
        return self.warehouse_dir / "reports"

    @property
    def dbt_target_dir(self) -> Path:
        """dbt's target/ and logs live with the warehouse, not in the installed source."""
        return self.warehouse_dir / "dbt" / "target"

    @property
    def dbt_log_dir(self) -> Path:
        return self.warehouse_dir / "dbt" / "logs"

    @property
    def file_identities(self) -> Path:
        """The landed files' SHA-256s, by inode, size and times (ingest/fileinfo.py)."""
        return self.warehouse_dir / "file_identities.json"

    @property
    def dbt_build_basis(self) -> Path:
        """What the marts were last built from (ifo_pipeline/incremental.py)."""
        return self.warehouse_dir / "dbt" / "build_basis.json"

    @property
    def kommunkod(self) -> str:
        """The code of the municipality whose data this warehouse holds: its folder's in a
        region, else config/kolada.toml's home_municipality (the shipped default's when the
        landing area's cannot be read: the Kolada job reports that file's fault itself)."""
        if self.municipality:
            return self.municipality
        from ifo_pipeline.kolada.landing import KoladaConfig

        try:
            code = KoladaConfig.load(self.landing_dir).home_municipality
        except (OSError, ValueError, KeyError, TypeError):
            code = KoladaConfig.load().home_municipality
        if not isinstance(code, str) or not MUNICIPALITY_CODE.fullmatch(code):
            raise SettingsError(
                f"home_municipality = {code!r} in {self.landing_dir / 'config' / 'kolada.toml'} "
                'is not a municipality code (four digits, e.g. "0138")'
            )
        return code

    def municipality_codes(self) -> list[str]:
        """The municipalities of a region's landing area: its folders named by a code."""
        if self.municipality or not self.landing_dir.is_dir():
            return []
        return sorted(
            p.name
            for p in self.landing_dir.iterdir()
            if p.is_dir() and MUNICIPALITY_CODE.fullmatch(p.name)
        )

    def for_municipality(self, code: str) -> Settings:
        """One municipality of a region: its landing folder, and its own warehouse folder
        (`kommun/<code>/`, holding its working and published files and its reports)."""
        return replace(
            self,
            warehouse_dir=self.warehouse_dir / MUNICIPALITY_DIR / code,
            landing_dir=self.landing_dir / code,
            municipality=code,
        )

    def dbt_env(self) -> dict[str, str]:
        """Environment for a dbt subprocess: the same warehouse, as an absolute path, and
        the municipality it holds."""
        return {
            KOMMUNKOD_ENV: self.kommunkod,
            WAREHOUSE_DIR_ENV: str(self.warehouse_dir),
            "DBT_TARGET_PATH": str(self.dbt_target_dir),
            "DBT_LOG_PATH": str(self.dbt_log_dir),
        }


# Every setting but the two folders, by the environment variable that sets it.
ENV_NAMES = {
    "kolada_base_url": "KOLADA_BASE_URL",
    "nightly_cron": "IFO_NIGHTLY_CRON",
    "kolada_cron": "IFO_KOLADA_CRON",
    "kolada_deadline_seconds": "IFO_KOLADA_DEADLINE_SECONDS",
    "ledger_due_day": "IFO_LEDGER_DUE_DAY",
    "first_month": "IFO_FIRST_MONTH",
    "replacement_warning_share": "IFO_REPLACEMENT_WARNING_SHARE",
}


def is_cron(text: str) -> bool:
    """A cron expression Dagster's schedules take: croniter reads it as five fields (no
    seconds) that some day matches (not the 30th of February)."""
    if not croniter.is_valid(text):
        return False
    fields, *_ = croniter.expand(text)
    return len(fields) == 5 and not (fields[3] == [2] and fields[2] in ([30], [31]))


def _convert(name: str, text: str, kind: type) -> object:
    try:
        return kind(text.strip())
    except ValueError:
        raise SettingsError(f"{name}={text!r} is not a {kind.__name__}") from None


def find_warehouse(env: dict[str, str] | os._Environ, cwd: Path) -> Path:
    """IFO_WAREHOUSE_DIR, else the nearest warehouse/ with a database from `cwd` up, else
    `warehouse/` in the project's own root; anywhere else, SettingsError."""
    if env.get(WAREHOUSE_DIR_ENV):
        given = Path(env[WAREHOUSE_DIR_ENV]).resolve()
        if given.exists() and not given.is_dir():
            raise SettingsError(
                f"{WAREHOUSE_DIR_ENV}={env[WAREHOUSE_DIR_ENV]} is a file, not a directory: it "
                "must name the warehouse directory (the one holding ifo.duckdb and archive/)"
            )
        return given
    cwd = cwd.resolve()
    for folder in (cwd, *cwd.parents):
        candidate = folder / "warehouse"
        if (candidate / WORKING_DATABASE).exists() or (candidate / PUBLISHED_DATABASE).exists():
            return candidate
        if candidate.is_dir() and (candidate / "marts.duckdb").exists():  # before the rename
            return candidate
    if (cwd / "workspace.yaml").exists() and (cwd / "dbt_project").is_dir():
        return cwd / "warehouse"  # the project root: the first run makes the warehouse here
    raise SettingsError(
        f"no warehouse found in {cwd} or above it: set {WAREHOUSE_DIR_ENV} to the warehouse "
        "directory (e.g. export IFO_WAREHOUSE_DIR=/srv/ifo/warehouse), or run ifo in the "
        "project's root, where warehouse/ is made on the first run"
    )
