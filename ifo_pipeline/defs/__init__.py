"""Dagster definitions: thin and declarative over the plain-Python packages.

`dagster dev` (workspace.yaml), `dagster definitions validate` and `ifo run` all load this.
Settings are read here, when the definitions load, not at import.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource, DbtProject

from ifo_pipeline.defs.ingest import (
    build_ingest_assets,
    every_unit_maps_to_one_report_line,
    measures_known,
)
from ifo_pipeline.defs.kolada import build_kolada_assets
from ifo_pipeline.defs.operations import build_landing_sensor, build_schedule, ledger_fresh
from ifo_pipeline.defs.partitions import monthly_partitions
from ifo_pipeline.defs.resources import WarehouseResource
from ifo_pipeline.defs.transform import (
    build_dbt_assets,
    build_publish_asset,
    resultatrapport_schema_valid,
)
from ifo_pipeline.settings import DBT_PROJECT_DIR, Settings

NIGHTLY_JOB = "ifo_all"


def dbt_project(parse: bool = False) -> DbtProject:
    project = DbtProject(project_dir=DBT_PROJECT_DIR)
    # The manifest must exist before the dbt assets are built: parse when asked (`ifo run`),
    # when it is missing (a fresh clone, CI, the daemon), and on every load under `dagster dev`.
    if parse or not project.manifest_path.exists():
        project.preparer.prepare(project)
    else:
        project.prepare_if_dev()
    return project


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions(Settings.from_env())


def build_definitions(settings: Settings, parse_dbt: bool = False) -> dg.Definitions:
    """The whole code location for one warehouse (tests build one per temporary warehouse).

    `parse_dbt` re-parses the dbt project first, so that a run never uses a stale manifest.
    """
    # dbt runs in its project folder: hand it the warehouse as an absolute path.
    os.environ.update(settings.dbt_env())
    # dagster-dbt looks for `dbt` on PATH; it is installed beside this interpreter, which is on
    # PATH only in an activated environment (not under systemd or `.venv/bin/ifo`).
    venv_bin = str(Path(sys.executable).parent)
    if venv_bin not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = venv_bin + os.pathsep + os.environ.get("PATH", "")
    project = dbt_project(parse=parse_dbt)
    dbt_models = build_dbt_assets(project)
    mart_keys = [key for key in dbt_models.keys if key.path[0] == "marts"]
    publish = build_publish_asset(mart_keys)
    months = monthly_partitions(settings)
    assets = [*build_ingest_assets(months), *build_kolada_assets(settings), dbt_models, publish]
    checks = [
        every_unit_maps_to_one_report_line,
        measures_known,
        ledger_fresh,
        resultatrapport_schema_valid,
    ]
    # One job for every run: a range of months (the sensor, a backfill, `ifo run`) or none
    # (the nightly run: Kolada, the sources without months, the marts).
    nightly = dg.define_asset_job(
        NIGHTLY_JOB,
        selection=dg.AssetSelection.all(),
        description="Fetch Kolada, load whatever has landed (and reload the run's months), "
        "rebuild the marts, publish them.",
    )
    all_keys = [key for a in assets for key in a.keys]
    without_months = [key for a in assets if a.partitions_def is None for key in a.keys]
    check_keys = [key for d in [*assets, *checks] for key in d.check_keys]
    return dg.Definitions(
        assets=assets,
        asset_checks=checks,
        jobs=[nightly],
        schedules=[
            build_schedule(
                nightly, settings, without_months, checks_for(check_keys, without_months)
            )
        ],
        sensors=[build_landing_sensor(nightly, settings, months, all_keys, without_months)],
        resources={
            "warehouse": WarehouseResource.from_settings(settings),
            "dbt": DbtCliResource(project_dir=project),
        },
        # DuckDB takes one writer per file: every step in one process, one after another.
        executor=dg.in_process_executor,
    )


def checks_for(
    check_keys: Iterable[dg.AssetCheckKey], asset_keys: list[dg.AssetKey]
) -> list[dg.AssetCheckKey]:
    """The checks of `asset_keys`, and the ledger's freshness, which matters most on the
    nights no ledger file lands."""
    return [
        key for key in check_keys if key.asset_key in asset_keys or key == ledger_fresh.check_key
    ]
