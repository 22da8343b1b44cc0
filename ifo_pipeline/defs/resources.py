"""Dagster resources: the warehouse settings, resolved once when the definitions load."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import dagster as dg

from ifo_pipeline.settings import Settings


class WarehouseResource(dg.ConfigurableResource):
    """Every setting of `Settings`, as the definitions were built with (one source of truth:
    the resource carries them all, so an asset sees what the CLI sees)."""

    warehouse_dir: str
    landing_dir: str
    kolada_base_url: str
    nightly_cron: str
    kolada_cron: str
    kolada_deadline_seconds: int
    ledger_due_day: int
    first_month: str
    replacement_warning_share: float
    municipality: str

    @classmethod
    def from_settings(cls, settings: Settings) -> WarehouseResource:
        values = dataclasses.asdict(settings)
        return cls(**{k: str(v) if isinstance(v, Path) else v for k, v in values.items()})

    @property
    def settings(self) -> Settings:
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(Settings)}
        values["warehouse_dir"] = Path(values["warehouse_dir"])
        values["landing_dir"] = Path(values["landing_dir"])
        return Settings(**values)
