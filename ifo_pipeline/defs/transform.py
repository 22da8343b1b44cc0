"""The dbt project as Dagster assets (one lineage graph with the ingest assets), the pandera
check on the result report, and publishing the marts for the controllers."""

import json
import os
import shutil
import signal
import subprocess
import traceback
from collections.abc import Iterable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
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

from ifo_pipeline.defs.ingest import metadata_table
from ifo_pipeline.defs.resources import WarehouseResource
from ifo_pipeline.incremental import BuildBasis, Lineage, source_fingerprints
from ifo_pipeline.publish import PublishRefused, publish_marts
from ifo_pipeline.runs import mark as mark_run
from ifo_pipeline.runs import unmark_published
from ifo_pipeline.store.warehouse import connect, release
from ifo_pipeline.validation.contracts import describe_failures, load_mart_schemas, validate_marts
from ifo_pipeline.validation.schemas import Validation

PUBLISHED_KEY = dg.AssetKey(["published", "ifo_duckdb"])
REPORT_KEY = dg.AssetKey(["published", "month_report"])
MARTS_CONTRACT_CHECK = "marts_match_their_contracts"
# A run tagged so rebuilds them whole (`ifo run --force`, `--months`).
FULL_REFRESH_TAG = "ifo/full_refresh"
KEPT_DBT_INVOCATIONS = 10
# dbt's statuses of a node that was built, or a test that ran without failing.
SUCCEEDED = ("success", "pass", "warn")


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
    # dbt's tests run in the build and a failing one fails the step, naming it (_dbt_build);
    # they are not a Dagster check each: three stored events per test and night (planned,
    # output, evaluation), which on Dagster's SQLite storage cost more than the tests.
    translator = IfoDbtTranslator(
        DagsterDbtTranslatorSettings(
            enable_duplicate_source_asset_keys=True, enable_asset_checks=False
        )
    )
    manifest = json.loads(project.manifest_path.read_text(encoding="utf-8"))
    lineage = Lineage.from_manifest(manifest)
    # Each model and seed, with the models and seeds it is built from: what a build leaves
    # standing is yielded in lineage order.
    buildable = {
        u: n for u, n in manifest["nodes"].items() if n["resource_type"] in ("model", "seed")
    }
    key_of = {u: translator.get_asset_key(n) for u, n in buildable.items()}
    upstream = {
        key_of[u]: {key_of[p] for p in n["depends_on"].get("nodes", []) if p in buildable}
        for u, n in buildable.items()
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
        basis = BuildBasis(settings.dbt_build_basis)
        full_refresh = basis.stale() or context.run.tags.get(FULL_REFRESH_TAG) == "true"
        # Only a build of the whole project, as a night's, leaves anything standing and records
        # what it was built from: a subset (the Kolada job's, one picked in the UI) is built
        # as dagster-dbt selects it, and adds to the record only the sources everything of
        # which it built and tested. (`context.assets_def` is the subset.)
        whole = context.selected_asset_keys == ifo_dbt_models.keys and (
            context.selected_asset_check_keys == ifo_dbt_models.check_keys
        )
        # What the build reads, for the next one: every source for a whole build; for a part
        # of it on the same project (the Kolada job's), the sources all of whose models it
        # selects, should it build and test everything they feed.
        reads = lineage.sources
        if not whole:
            selected = context.selected_asset_keys
            reads = {} if basis.stale() else _feeding_only(lineage, key_of, selected)
        built_from: dict[str, str | None] = {}
        if reads:
            with closing(connect(settings.warehouse_path)) as con:
                built_from = source_fingerprints(con, reads)
        release(settings.warehouse_path)  # dbt's own process opens the file
        if full_refresh or not whole:
            if full_refresh:
                context.log.info(
                    "the project is built whole, incremental models too (--full-refresh)"
                )
            succeeded: set[str] = set()
            yield from _dbt_build(
                context,
                dbt,
                settings.dbt_target_dir,
                dbt_build_args(full_refresh),
                succeeded if built_from and not whole else None,
            )
            if succeeded:
                covered = lineage.fully_built(built_from, succeeded)
                basis.add({s: f for s, f in built_from.items() if s in covered})
        else:
            changed = basis.changed_sources(built_from)
            plan = lineage.same_project_build(changed)
            context.log.info(
                "sources changed since the last build: "
                + (", ".join(sorted(lineage.sources[s] for s in changed)) or "none")
                + f"; {len(plan.standing)} models and seeds stand as built"
                + ("; nothing to build" if plan.builds_nothing else "")
            )
            standing = {key_of[u]: upstream[key_of[u]] for u in plan.standing}
            built = (
                iter(())
                if plan.builds_nothing
                else _dbt_build(
                    context, dbt, settings.dbt_target_dir, dbt_build_args(False, plan.exclude)
                )
            )
            yield from _with_standing(context, built, standing)
        if whole:
            basis.record(built_from)

    return ifo_dbt_models


def _dbt_build(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    target_dir: Path,
    args: list[str],
    succeeded: set[str] | None = None,
) -> Iterator[Any]:
    """dbt's events, the invocation's parse kept for the next one (`target_dir`); the nodes
    that were built or passed go into `succeeded`."""
    invocation = dbt.cli(args, context=context, raise_on_error=False)
    try:
        yield from invocation.stream()
    finally:  # a step ended early (an error handling an event) must not leave dbt running
        _stop(invocation.process)
    keep_partial_parse(invocation.target_path, target_dir)
    results = _run_results(invocation.target_path)
    if succeeded is not None:
        succeeded.update(r["unique_id"] for r in results if r["status"] in SUCCEEDED)
    if not invocation.is_successful():
        raise dg.Failure(description=dbt_failures(results) or str(invocation.get_error()))


def _run_results(target_path: Path) -> list[dict[str, Any]]:
    """dbt's results of the invocation's nodes (none when dbt ended before writing them)."""
    path = target_path / "run_results.json"
    if not path.is_file():
        return []
    return json.loads(path.read_text(encoding="utf-8"))["results"]


def dbt_failures(results: list[dict[str, Any]]) -> str:
    """What failed in a dbt build, first line first: each failing test with its failing rows,
    each model or seed in error with dbt's message."""
    failed = [r for r in results if r["status"] in ("fail", "error")]
    if not failed:
        return ""
    parts = []
    for result in failed:
        name = result["unique_id"].split(".")[2]  # test.<project>.<name>.<hash>
        if result["unique_id"].startswith("test."):
            rows = result.get("failures")
            parts.append(f"the dbt test {name} failed" + (f" ({rows} rows)" if rows else ""))
        else:
            message = " ".join((result.get("message") or "").split())[:300]
            parts.append(f"{name}: {message}")
    return "dbt build failed: " + "; ".join(parts)


def _feeding_only(
    lineage: Lineage, key_of: Mapping[str, dg.AssetKey], selected: AbstractSet[dg.AssetKey]
) -> dict[str, str]:
    """The sources (id -> `schema.table`) whose models are all among the `selected` assets."""
    return {
        source: relation
        for source, relation in lineage.sources.items()
        if (feeds := {key_of[u] for u in lineage.downstream([source]) if u in key_of})
        and feeds <= selected
    }


def _with_standing(
    context: dg.AssetExecutionContext,
    events: Iterable[Any],
    standing: Mapping[dg.AssetKey, set[dg.AssetKey]],
) -> Iterator[Any]:
    """dbt's events, and an output for each model and seed left standing. Dagster takes a
    step's outputs in lineage order: each is yielded once everything it is built from has
    been."""
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


def dbt_build_args(full_refresh: bool, exclude: Sequence[str] = ()) -> list[str]:
    """`dbt build`, whole or incremental. The unit tests test the code, not the data: they run
    when the code may have changed (a full refresh: no build with this project yet, a changed
    project, `--force`), not every night on the code they passed on. `exclude`: what a build
    on the same project leaves standing (`SameProjectBuild.exclude`)."""
    if full_refresh:
        return ["build", "--full-refresh"]
    args = ["build", "--exclude-resource-type", "unit_test"]
    if exclude:
        # With no indirect selection a test is selected as a node of its own: excluding a view
        # does not exclude the view's tests.
        args += ["--indirect-selection", "empty", "--exclude", " ".join(exclude)]
    return args


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


def build_publish_asset(mart_keys: list[dg.AssetKey], project: DbtProject) -> dg.AssetsDefinition:
    # The marts' pandera schemas, from the same dbt contracts the build enforces.
    schemas = load_mart_schemas(project.manifest_path)

    @dg.asset(
        key=PUBLISHED_KEY,
        deps=mart_keys,
        group_name="publish",
        kinds={"duckdb"},
        description="`$IFO_WAREHOUSE_DIR/ifo.duckdb`: the marts and ops tables as controllers "
        "read them, swapped in atomically after a good run.",
        check_specs=[
            dg.AssetCheckSpec(
                MARTS_CONTRACT_CHECK,
                asset=PUBLISHED_KEY,
                description="Every published mart passes the pandera schema derived from its "
                "dbt contract (types, not_null, accepted_values, grain), checked on the new "
                "file before it replaces the published one: a failure publishes nothing.",
            )
        ],
    )
    def published_marts(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
        settings = warehouse.settings
        with closing(connect(settings.warehouse_path)) as con:  # ops.runs says it, published
            mark_run(con, context.run_id, context.job_name, published=True)
        release(settings.warehouse_path)  # publishing attaches the file to a database of its own
        results: list[Validation] = []

        def contracts_hold(con, changed_rows: dict[str, str | None]) -> list[str]:
            results[:] = validate_marts(con, schemas, "published", changed_rows)
            return describe_failures(results)

        try:
            copied = publish_marts(
                settings.warehouse_path,
                settings.published_path,
                settings.kommunkod,
                check=contracts_hold,
            )
        except PublishRefused as refused:
            yield contracts_result(results)
            with closing(connect(settings.warehouse_path)) as con:
                unmark_published(con, context.run_id)
            raise dg.Failure(  # the check above names the marts, columns and rows
                description=f"the marts were not published ({MARTS_CONTRACT_CHECK} failed for "
                f"{len(refused.problems)} mart(s)); the last published file stands"
            ) from None
        context.log.info(f"published {len(copied)} tables to {settings.published_path}")
        yield dg.MaterializeResult(
            metadata={
                "path": dg.MetadataValue.path(str(settings.published_path)),
                "tables": metadata_table(["table", "rows"], sorted(copied.items())),
            }
        )
        yield contracts_result(results)

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


def contracts_result(results: list[Validation]) -> dg.AssetCheckResult:
    """The marts' contract check: rows checked and failures per mart, the failing cases."""
    failing = [r for r in results if not r.passed]
    return dg.AssetCheckResult(
        check_name=MARTS_CONTRACT_CHECK,
        passed=not failing,
        description="; ".join(describe_failures(results)) or None,
        metadata={
            "marts": metadata_table(
                ["mart", "rows_checked", "failures"],
                [(r.table, r.rows_checked, r.failures) for r in results],
            ),
            "failure_cases": metadata_table(
                ["mart", "column", "check", "value", "row"],
                [
                    (r.table, c["column"], c["check"], c["value"], c["row"])
                    for r in failing
                    for c in r.sample
                ],
            ),
        },
    )
