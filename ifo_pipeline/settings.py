"""Where things live. One source of truth: the environment, read when asked, never at import.

`IFO_WAREHOUSE_DIR` names the warehouse for Dagster, dbt (profiles.yml) and the CLI alike;
`IFO_LANDING_DIR` names the landing area the exports are dropped into.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

WAREHOUSE_DIR_ENV = "IFO_WAREHOUSE_DIR"
LANDING_DIR_ENV = "IFO_LANDING_DIR"
KOLADA_BASE_URL_ENV = "KOLADA_BASE_URL"
DEFAULT_KOLADA_BASE_URL = "https://api.kolada.se/v3"
NIGHTLY_CRON_ENV = "IFO_NIGHTLY_CRON"  # when the nightly run starts, Europe/Stockholm
LEDGER_DUE_DAY_ENV = "IFO_LEDGER_DUE_DAY"  # last month's export is due by this day
KOLADA_STEP_RETRIES_ENV = "IFO_KOLADA_STEP_RETRIES"
KOLADA_RETRY_DELAY_ENV = "IFO_KOLADA_RETRY_DELAY_SECONDS"
REPLACEMENT_WARNING_SHARE_ENV = "IFO_REPLACEMENT_WARNING_SHARE"
FIRST_MONTH_ENV = "IFO_FIRST_MONTH"  # the first accounting month with a partition, YYYY-MM
TIMEZONE = "Europe/Stockholm"  # the schedule's clock and the partitions' calendar

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"


@dataclass(frozen=True)
class Settings:
    warehouse_dir: Path
    landing_dir: Path
    kolada_base_url: str = DEFAULT_KOLADA_BASE_URL
    nightly_cron: str = "0 2 * * *"
    ledger_due_day: int = 10
    # After the client's own retries, Dagster retries the whole Kolada fetch step this many
    # times, waiting this long (doubling): an outage of the API often lasts minutes.
    kolada_step_retries: int = 2
    kolada_retry_delay_seconds: int = 600
    first_month: str = "2015-01"
    # A delivery that removes more than this share of a replaced period's rows or net amount
    # loads, but raises a warning (a truncated re-export looks exactly like that).
    replacement_warning_share: float = 0.5

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        warehouse_dir = Path(env.get(WAREHOUSE_DIR_ENV) or "warehouse").resolve()
        landing_dir = Path(env.get(LANDING_DIR_ENV) or warehouse_dir / "landing").resolve()
        return cls(
            warehouse_dir=warehouse_dir,
            landing_dir=landing_dir,
            kolada_base_url=env.get(KOLADA_BASE_URL_ENV) or DEFAULT_KOLADA_BASE_URL,
            nightly_cron=env.get(NIGHTLY_CRON_ENV) or "0 2 * * *",
            ledger_due_day=int(env.get(LEDGER_DUE_DAY_ENV) or 10),
            kolada_step_retries=int(env.get(KOLADA_STEP_RETRIES_ENV) or 2),
            kolada_retry_delay_seconds=int(env.get(KOLADA_RETRY_DELAY_ENV) or 600),
            first_month=env.get(FIRST_MONTH_ENV) or "2015-01",
            replacement_warning_share=float(env.get(REPLACEMENT_WARNING_SHARE_ENV) or 0.5),
        )

    @property
    def warehouse_path(self) -> Path:
        """The pipeline's own working warehouse; only the pipeline opens it."""
        return self.warehouse_dir / "ifo.duckdb"

    @property
    def published_path(self) -> Path:
        """The copy controllers read (read-only), replaced atomically after a good run."""
        return self.warehouse_dir / "marts.duckdb"

    @property
    def archive_dir(self) -> Path:
        return self.warehouse_dir / "archive"

    def dbt_env(self) -> dict[str, str]:
        """Environment for a dbt subprocess: the same warehouse, as an absolute path."""
        return {WAREHOUSE_DIR_ENV: str(self.warehouse_dir)}
