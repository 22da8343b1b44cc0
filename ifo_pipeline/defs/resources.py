"""Dagster resources: the warehouse settings, resolved once when the definitions load."""

from __future__ import annotations

import dataclasses
import importlib.metadata
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource
from packaging import version

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


class DbtResource(DbtCliResource):
    """dagster-dbt's dbt CLI resource without two costs this project never uses, each paid on
    every dbt step (about 5 s of a night's two builds):

    - `dbt --version` in a subprocess, to tell dbt Core from the Fusion engine: the version is
      that of the dbt-core package installed beside this one;
    - an in-process dbt adapter, used only to fetch column metadata and row counts. It is
      built inside a bare `except:` that would also swallow a Ctrl-C arriving then.

    Both are private to dagster-dbt: the pipeline tests (which run dbt) show it if they move.
    """

    @cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(importlib.metadata.version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:
        return None
