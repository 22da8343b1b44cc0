"""The dbt project as Dagster assets (one lineage graph with the ingest assets), the pandera
check on the result report, and publishing the marts for the controllers."""

import json
import os
import shutil
import signal
import subprocess
import traceback
from collections.abc import Iterable, Iterator, Mapping
from contextlib import closing
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)

from ifo_pipeline.defs.ingest import metadata_table, validation_metadata
from ifo_pipeline.defs.resources import WarehouseResource
from ifo_pipeline.incremental import IncrementalBasis
from ifo_pipeline.ingest.warehouse import connect, release
from ifo_pipeline.publish import publish_marts
from ifo_pipeline.runs import mark as mark_run
from ifo_pipeline.validation.schemas import RESULTATRAPPORT, validate_table

RESULTATRAPPORT_KEY = dg.AssetKey(["marts", "resultatrapport"])
PUBLISHED_KEY = dg.AssetKey(["published", "ifo_duckdb"])
REPORT_KEY = dg.AssetKey(["published", "month_report"])
# A run tagged so rebuilds them whole (`ifo run --force`, `--months`).
FULL_REFRESH_TAG = "ifo/full_refresh"
KEPT_DBT_INVOCATIONS = 10


class IfoDbtTranslator(DagsterDbtTranslator):
    """Models are keyed `<layer>/<model>` (marts/resultatrapport) and grouped by layer;
    sources take their key from `meta.dagster.asset_key` (the ingest assets)."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return super().get_asset_key(dbt_resource_props)
        schema = dbt_resource_props["config"].get("schema") or "main"
        return dg.AssetKey([schema, dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return dbt_resource_props["config"].get("schema") or "dbt"


def build_dbt_assets(project: DbtProject) -> dg.AssetsDefinition:
    translator = IfoDbtTranslator(
        DagsterDbtTranslatorSettings(enable_duplicate_source_asset_keys=True)
    )
    # The incremental models (built in the months whose data changed, whole when the project
    # did), as the manifest says: a second one is never forgotten here.
    nodes = json.loads(project.manifest_path.read_text(encoding="utf-8"))["nodes"].values()
    incremental_keys = {
        translator.get_asset_key(n) for n in nodes if _materialized(n) == "incremental"
    }
    # What a build on unchanged code leaves standing (the views and the seeds), each with the
    # models and seeds it is built from.
    by_id = {n["unique_id"]: n for n in nodes if n["resource_type"] in ("model", "seed")}
    standing = {
        translator.get_asset_key(n): {
            translator.get_asset_key(by_id[u])
            for u in n["depends_on"].get("nodes", [])
            if u in by_id
        }
        for n in by_id.values()
        if n["resource_type"] == "seed" or _materialized(n) == "view"
    }

    @dbt_assets(
        manifest=project.manifest_path,
        project=project,
        # The Kolada tables are several dbt sources of one ingest asset.
        dagster_dbt_translator=translator,
    )
    def ifo_dbt_models(
        context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource
    ):
        settings = warehouse.settings
        basis = IncrementalBasis(settings.dbt_incremental_basis)
        full_refresh = basis.stale() or context.run.tags.get(FULL_REFRESH_TAG) == "true"
        if full_refresh:
            context.log.info("incremental models are rebuilt whole (--full-refresh)")
        # Only in a build of the whole project, as a night's: a subset (the Kolada job's, one
        # from the UI) is built as dagster-dbt selects it. (`context.assets_def` is the subset.)
        whole = context.selected_asset_keys == ifo_dbt_models.keys and (
            context.selected_asset_check_keys == ifo_dbt_models.check_keys
        )
        keep_standing = whole and not full_refresh
        release(settings.warehouse_path)  # dbt's own process opens the file
        invocation = dbt.cli(dbt_build_args(full_refresh, keep_standing), context=context)
        events = invocation.stream()
        try:
            yield from _with_standing(context, events, standing) if keep_standing else events
        finally:  # a step ended early (an error handling an event) must not leave dbt running
            _stop(invocation.process)
        keep_partial_parse(invocation.target_path, settings.dbt_target_dir)
        if context.selected_asset_keys >= incremental_keys:
            basis.record()

    return ifo_dbt_models


def _with_standing(
    context: dg.AssetExecutionContext,
    events: Iterable[Any],
    standing: Mapping[dg.AssetKey, set[dg.AssetKey]],
) -> Iterator[Any]:
    """dbt's events, and an output for each view and seed left standing (built by an earlier
    build on this same code, they still hold: a view reads the tables as they are now, a seed
    changes only with the project). Dagster takes a step's outputs in lineage order: each is
    yielded once everything it is built from has been."""
    done: set[dg.AssetKey] = set()
    pending = dict(standing)

    def ready() -> Iterator[dg.Output]:
        while found := sorted(k for k, upstream in pending.items() if upstream <= done):
            for key in found:
                del pending[key]
                done.add(key)
                yield dg.Output(
                    None,
                    output_name=context.assets_def.get_output_name_for_asset_key(key),
                    metadata={"recreated": False},
                )

    yield from ready()
    for event in events:
        yield event
        if isinstance(event, dg.Output):
            done.add(context.assets_def.keys_by_output_name[event.output_name])
            yield from ready()


def _stop(process: subprocess.Popen, timeout: float = 30) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)  # dbt ends its query and closes the warehouse
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def dbt_build_args(full_refresh: bool, keep_standing: bool = False) -> list[str]:
    """`dbt build`, whole or incremental. The unit tests test the code, not the data: they run
    when the code may have changed (a full refresh: no build with this project yet, a changed
    project, `--force`), not every night on the code they passed on. `keep_standing`: the
    views and seeds an earlier build on this code made are not made again; their tests run."""
    if full_refresh:
        return ["build", "--full-refresh"]
    args = ["build", "--exclude-resource-type", "unit_test"]
    if keep_standing:
        # With no indirect selection a test is selected as a node of its own: excluding a view
        # does not exclude the view's tests.
        args += ["--indirect-selection", "empty"]
        args += ["--exclude", "config.materialized:view resource_type:seed"]
    return args


def _materialized(node: Mapping[str, Any]) -> str | None:
    return node["config"].get("materialized") if node["resource_type"] == "model" else None


def keep_partial_parse(invocation_target: Path, target_dir: Path) -> None:
    """Keep dbt's parse of the project where the next invocation looks for it: each
    invocation writes to a target folder of its own and would otherwise parse the whole
    project again (3 s of every build). dbt re-parses what changed, or all, if it is stale."""
    parsed = invocation_target / "partial_parse.msgpack"
    if parsed.is_file():
        target_dir.mkdir(parents=True, exist_ok=True)
        staging = target_dir / f".partial_parse.{os.getpid()}.tmp"
        shutil.copyfile(parsed, staging)
        os.replace(staging, target_dir / "partial_parse.msgpack")
    # Each invocation's folder (compiled SQL, run results, dbt.log) is kept for the last few
    # runs only: a warehouse must not grow by a folder every night.
    invocations = sorted(
        (p for p in target_dir.iterdir() if p.is_dir() and p != invocation_target),
        key=lambda p: p.stat().st_mtime,
    )
    for old in invocations[:-KEPT_DBT_INVOCATIONS]:
        shutil.rmtree(old, ignore_errors=True)


@dg.asset_check(
    asset=RESULTATRAPPORT_KEY,
    blocking=True,
    description="marts.resultatrapport passes its pandera schema.",
)
def resultatrapport_schema_valid(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with closing(connect(warehouse.settings.warehouse_path)) as con:
        validation = validate_table(con, "marts.resultatrapport", RESULTATRAPPORT)
    return dg.AssetCheckResult(
        passed=validation.passed,
        metadata=validation_metadata(validation),
    )


def build_publish_asset(mart_keys: list[dg.AssetKey]) -> dg.AssetsDefinition:
    @dg.asset(
        key=PUBLISHED_KEY,
        deps=mart_keys,
        group_name="publish",
        kinds={"duckdb"},
        description="`$IFO_WAREHOUSE_DIR/ifo.duckdb`: the marts and ops tables as controllers "
        "read them, swapped in atomically after a good run.",
    )
    def published_marts(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        settings = warehouse.settings
        with closing(connect(settings.warehouse_path)) as con:  # ops.runs says it, published
            mark_run(con, context.run_id, context.job_name, published=True)
        release(settings.warehouse_path)  # publishing attaches the file to a database of its own
        copied = publish_marts(settings.warehouse_path, settings.published_path)
        context.log.info(f"published {len(copied)} tables to {settings.published_path}")
        return dg.MaterializeResult(
            metadata={
                "path": dg.MetadataValue.path(str(settings.published_path)),
                "tables": metadata_table(["table", "rows"], sorted(copied.items())),
            }
        )

    return published_marts


@dg.asset(
    key=REPORT_KEY,
    deps=[PUBLISHED_KEY],
    group_name="publish",
    kinds={"html", "excel", "pdf"},
    check_specs=[
        dg.AssetCheckSpec(
            "report_written",
            asset=REPORT_KEY,
            description="The month report was written in every format (a PDF needs Chromium). "
            "A warning: the marts are published whether or not the report could be written.",
        )
    ],
    description="The month report for the latest month with ledger data, from the published "
    "file: `$IFO_WAREHOUSE_DIR/reports/YYYY-MM.html`, `.xlsx` and `.pdf`.",
)
def month_report(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    from ifo_pipeline.publish import connect_published
    from ifo_pipeline.reporting.content import latest_ledger_month
    from ifo_pipeline.reporting.report import write_reports

    settings = warehouse.settings
    problems: list[str] = []
    files: list[str] = []
    month = None
    try:
        with closing(connect_published(settings.published_path)) as con:
            month = latest_ledger_month(con)
            if month is None:
                problems.append("no ledger month is published yet: nothing to report")
            else:
                stem = settings.reports_dir / f"{month[0]}-{month[1]:02d}"
                written = write_reports(con, *month, stem)
                files = [str(f) for f in written.files]
                problems += written.skipped
    except Exception as exc:  # the marts are published: a report problem must not undo that
        context.log.debug(traceback.format_exc())  # the details, for the run log
        problems.append(f"the month report could not be written: {type(exc).__name__}: {exc}")
    for problem in problems:
        context.log.warning(problem)
    yield dg.MaterializeResult(
        metadata={
            "month": dg.MetadataValue.text(f"{month[0]}-{month[1]:02d}" if month else "none"),
            "files": metadata_table(["file"], [(f,) for f in files]),
        }
    )
    yield dg.AssetCheckResult(
        check_name="report_written",
        passed=not problems,
        severity=dg.AssetCheckSeverity.WARN,
        description="; ".join(problems) or None,
    )
