"""Dagster definitions: thin and declarative over the plain-Python packages.

`dagster dev` (workspace.yaml), `dagster definitions validate` and `ifo run` all load this.
Settings are read here, when the definitions load, not at import.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource, DbtProject

from ifo_pipeline import dbt_command
from ifo_pipeline.defs.automation import (
    build_kolada_schedule,
    build_landing_sensor,
    build_schedule,
    ledger_fresh,
    record_failed_run,
)
from ifo_pipeline.defs.ingest import (
    build_ingest_assets,
    every_unit_maps_to_one_report_line,
    indicator_sources_known,
    measures_known,
    plan_drivers_known,
)
from ifo_pipeline.defs.kolada import FETCH_KEY, build_kolada_assets
from ifo_pipeline.defs.partitions import monthly_partitions
from ifo_pipeline.defs.resources import WarehouseResource
from ifo_pipeline.defs.transform import (
    build_dbt_assets,
    build_publish_asset,
    month_report,
)
from ifo_pipeline.files import write_text_atomically
from ifo_pipeline.incremental import dbt_project_files, project_fingerprint
from ifo_pipeline.publish import migrate_layout
from ifo_pipeline.settings import DBT_PROJECT_DIR, Settings

NIGHTLY_JOB = "ifo_all"
KOLADA_JOB = "kolada"


def dbt_project(settings: Settings, parse: bool = False) -> DbtProject:
    """The dbt project, its target/ under the warehouse (never in the installed source)."""
    project = DbtProject(project_dir=DBT_PROJECT_DIR, target_path=settings.dbt_target_dir)
    # The manifest must exist, and describe the current models, before the dbt assets are
    # built: `parse` forces a new one; under `dagster dev` dagster-dbt re-parses on each load.
    # The warehouse's manifest is known by the project it was parsed from (a stamp beside it),
    # not by its age: after an upgrade, the last release's manifest is newer than the new
    # release's files and describes the old models.
    stamp = project.manifest_path.with_name("manifest.project")
    fingerprint = project_fingerprint()
    known = stamp.read_text() if stamp.exists() else None
    if parse or known != fingerprint or not project.manifest_path.exists():
        if not parse and _fresh(INSTALLED_MANIFEST):  # the install's (scripts/setup.sh)
            project.manifest_path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(INSTALLED_MANIFEST, project.manifest_path)
        else:
            parse_dbt_project(settings)
        write_text_atomically(stamp, fingerprint)
    project.prepare_if_dev()
    return project


# Parsed once at install time (scripts/setup.sh); the manifest depends on the project's code,
# not on the warehouse, so every warehouse may start from it.
INSTALLED_MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"


def _fresh(manifest: Path) -> bool:
    """The manifest exists and is newer than every file of the dbt project."""
    if not manifest.exists():
        return False
    built = manifest.stat().st_mtime
    return all(p.stat().st_mtime <= built for p in dbt_project_files())


def parse_dbt_project(settings: Settings) -> None:
    """`dbt parse` in a child process of its own. (dagster-dbt's preparer initialises the dbt
    adapter inside a bare `except:`, which swallows a Ctrl-C or SIGTERM that arrives then.)"""
    command = [
        str(Path(sys.executable).parent / "dbt"),
        "parse",
        "--quiet",
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--target-path",
        str(settings.dbt_target_dir),
    ]
    done = subprocess.run(
        command, env={**os.environ, **settings.dbt_env()}, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"dbt parse failed: {(done.stdout + done.stderr).strip()[-2000:]}")


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
    migrate_layout(settings.warehouse_dir)
    project = dbt_project(settings, parse=parse_dbt)
    dbt_models = build_dbt_assets(project)
    mart_keys = [key for key in dbt_models.keys if key.path[0] == "marts"]
    publish = build_publish_asset(mart_keys, project)
    months = monthly_partitions(settings)
    assets = [
        *build_ingest_assets(months),
        *build_kolada_assets(),
        dbt_models,
        publish,
        month_report,
    ]
    checks = [
        every_unit_maps_to_one_report_line,
        measures_known,
        plan_drivers_known,
        indicator_sources_known,
        ledger_fresh,
    ]
    # The finance job: every run of the sensor, a backfill, the nightly run and `ifo run`
    # (a range of months, or none). Everything but the Kolada fetch.
    nightly = dg.define_asset_job(
        NIGHTLY_JOB,
        selection=dg.AssetSelection.all() - dg.AssetSelection.assets(FETCH_KEY),
        hooks={record_failed_run},
        description="Load whatever has landed (and reload the run's months), rebuild the marts, "
        "publish them. Uses the last complete Kolada fetch; never waits on the API.",
    )
    # The Kolada job: the fetch and what depends on it, so that a rerun after an outage ends
    # with fresh Kolada marts published.
    kolada = dg.define_asset_job(
        KOLADA_JOB,
        selection=dg.AssetSelection.assets(FETCH_KEY).downstream(),
        hooks={record_failed_run},
        description="Fetch Kolada, load it, rebuild the Kolada marts and publish. Fails on its "
        "own, within IFO_KOLADA_DEADLINE_SECONDS, when the API cannot be reached.",
    )
    all_keys = [key for a in assets for key in a.keys]
    without_months = [
        key for a in assets if a.partitions_def is None for key in a.keys if key != FETCH_KEY
    ]
    check_keys = [key for d in [*assets, *checks] for key in d.check_keys]
    return dg.Definitions(
        assets=assets,
        asset_checks=checks,
        jobs=[nightly, kolada],
        schedules=[
            build_schedule(
                nightly, settings, without_months, checks_for(check_keys, without_months)
            ),
            build_kolada_schedule(kolada, settings),
        ],
        sensors=[build_landing_sensor(nightly, settings, months, all_keys, without_months)],
        resources={
            "warehouse": WarehouseResource.from_settings(settings),
            # dbt's own CLI, answering dagster-dbt's `--version` from package metadata.
            "dbt": DbtCliResource(project_dir=project, dbt_executable=dbt_command.executable()),
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
