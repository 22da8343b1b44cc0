"""One ingest asset per landed source, generated from the declarative sources in ingest/sources.

Each materialisation loads the files not loaded before; the ledger and the volume counts are
partitioned by month, and a run for some months also reloads those months from the archived
files (ingest/__init__.py). It reports through asset checks:
`files_accepted` (a file refused whole: a warning; the table keeps its earlier deliveries),
`rows_accepted` (rows set aside in ops.rejects: a warning, the rest still loads),
`schema_valid` (pandera on the loaded table) and, for money, `reconciles_to_the_krona`.
"""

import warnings
from collections.abc import Callable
from contextlib import closing

import dagster as dg

from ifo_pipeline.defs.resources import WarehouseResource
from ifo_pipeline.ingest import load_source, load_volumes
from ifo_pipeline.ingest.lifecycle import FileLoad
from ifo_pipeline.ingest.volumes import VOLUMES, unknown_measures
from ifo_pipeline.months import period_of
from ifo_pipeline.operations import large_replacements, unbalanced_files
from ifo_pipeline.settings import Settings
from ifo_pipeline.store.declarations import CsvSource, LandedSource
from ifo_pipeline.store.ops_log import DELIVERED, Outcome
from ifo_pipeline.store.sources import CSV_SOURCES, LEDGER
from ifo_pipeline.store.warehouse import connect
from ifo_pipeline.validation.plan import unresolved_drivers, unresolved_indicator_sources
from ifo_pipeline.validation.schemas import SCHEMAS, Validation, validate_table
from ifo_pipeline.validation.structure import unit_mapping_problems

SAMPLE_ROWS = 20


def validation_metadata(validation: Validation) -> dict:
    """A pandera validation as check metadata: how much was checked and what failed."""
    return {
        "rows_checked": dg.MetadataValue.int(validation.rows_checked),
        "failures": dg.MetadataValue.int(validation.failures),
        "failure_cases": metadata_table(
            ["column", "check", "value", "row"],
            [(c["column"], c["check"], c["value"], c["row"]) for c in validation.sample],
        ),
    }


def metadata_table(header: list[str], rows: list[tuple]) -> dg.TableMetadataValue:
    """Rows as a Dagster table, which the UI renders (and sorts) as one."""
    return dg.MetadataValue.table(
        records=[
            dg.TableRecord({name: _cell(value) for name, value in zip(header, row, strict=True)})
            for row in rows
        ],
        schema=dg.TableSchema(columns=[dg.TableColumn(name, "string") for name in header]),
    )


def _cell(value: object) -> str | int | float | bool | None:
    # Exact types only: an Enum (Outcome) or a Decimal is shown as its text.
    return value if value is None or type(value) in (str, int, float, bool) else str(value)


def _check_specs(
    source: LandedSource, table: str, key: dg.AssetKey, reconciles: bool
) -> list[dg.AssetCheckSpec]:
    specs = [
        dg.AssetCheckSpec(
            "files_accepted",
            asset=key,
            # A refused file loads nothing: the table keeps its earlier deliveries, and the
            # other files and sources publish (the check warns; `ifo run` exits 1).
            description="No landed file was refused whole (encoding, header, empty file).",
        ),
        dg.AssetCheckSpec(
            "rows_accepted",
            asset=key,
            description="No row of the files loaded in this run went to ops.rejects.",
        ),
        dg.AssetCheckSpec(
            "schema_valid",
            asset=key,
            blocking=True,
            description=f"The table passes the pandera schema {table}.",
        ),
    ]
    specs.append(
        dg.AssetCheckSpec(
            "replacements_plausible",
            asset=key,
            description="No file of this run removed more than IFO_REPLACEMENT_WARNING_SHARE "
            "(default 50 %) of the rows or net amount of a period it replaced "
            "(ops.replacements).",
        )
    )
    if reconciles:
        specs.append(
            dg.AssetCheckSpec(
                "reconciles_to_the_krona",
                asset=key,
                blocking=True,
                description="Per file: sum in file = loaded + rejected (a krona lost blocks "
                "the marts), and the lines = the export's total row (a gap that unreadable "
                "amounts explain is a warning) (ops.reconciliation).",
            )
        )
    return specs


Loader = Callable[[Settings, list[int] | None], list[FileLoad]]


def build_ingest_asset(
    source: LandedSource,
    table: str,
    load: Loader,
    reconciles: bool = False,
    partitions: dg.PartitionsDefinition | None = None,
) -> dg.AssetsDefinition:
    """`partitions`: monthly; a run's months reach the loader as YYYYMM."""
    key = dg.AssetKey(table.split("."))

    def ingest(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
        settings = warehouse.settings
        months = [period_of(k) for k in context.partition_keys] if partitions else None
        loads = load(settings, months)
        new = [f for f in loads if f.outcome != Outcome.ALREADY_LOADED]
        for f in new:
            log = context.log.error if f.outcome == Outcome.REJECTED else context.log.info
            log(f"{source.folder}/{f.file_name}: {f.message}")
        with closing(connect(settings.warehouse_path)) as con:
            yield dg.MaterializeResult(metadata=_materialization_metadata(con, table, loads))
            yield from _check_results(con, table, new, reconciles, settings)

    with warnings.catch_warnings():
        # Dagster calls backfill policies beta; one run per range of months is the design.
        warnings.simplefilter("ignore", dg.BetaWarning)
        return dg.asset(
            key=key,
            deps=[dg.AssetKey(t.split(".")) for t in getattr(source, "reads", ())],
            group_name="ingest",
            kinds={"csv", "duckdb"},
            check_specs=_check_specs(source, table, key, reconciles),
            partitions_def=partitions,
            # A range of months is one run: one set-based load, the marts rebuilt once.
            backfill_policy=dg.BackfillPolicy.single_run() if partitions else None,
            description=f"Files landed in `{source.folder}/` ({', '.join(source.patterns)}), "
            f"loaded into `{table}`.",
        )(ingest)


def _materialization_metadata(con, table: str, loads: list[FileLoad]) -> dict:
    rows = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    return {
        "rows_in_table": dg.MetadataValue.int(rows),
        "files_new": dg.MetadataValue.int(
            sum(f.outcome in (*DELIVERED, Outcome.REJECTED) for f in loads)
        ),
        "months_reloaded": dg.MetadataValue.int(
            sum(len(f.periods) for f in loads if f.outcome == Outcome.RELOADED)
        ),
        "files_already_loaded": dg.MetadataValue.int(
            sum(f.outcome == Outcome.ALREADY_LOADED for f in loads)
        ),
        "files": metadata_table(
            ["file", "outcome", "rows loaded", "rows rejected", "message"],
            [(f.file_name, f.outcome, f.rows_loaded, f.rows_rejected, f.message) for f in loads],
        ),
    }


def _check_results(con, table: str, new: list[FileLoad], reconciles: bool, settings: Settings):
    refused = [f for f in new if f.outcome == Outcome.REJECTED]
    yield dg.AssetCheckResult(
        check_name="files_accepted",
        passed=not refused,
        severity=dg.AssetCheckSeverity.WARN,
        description="; ".join(f.message for f in refused) or None,
        metadata={"files_refused": dg.MetadataValue.int(len(refused))},
    )

    hashes = [f.sha256 for f in new if f.outcome != Outcome.REJECTED]
    rejected_rows = sum(f.rows_rejected for f in new)
    sample = (
        con.execute(
            """SELECT file_name, line_number, reason, raw FROM ops.rejects
           WHERE file_sha256 IN (SELECT unnest(?::VARCHAR[])) ORDER BY file_name, line_number
           LIMIT ?""",
            [hashes, SAMPLE_ROWS],
        ).fetchall()
        if hashes
        else []
    )
    yield dg.AssetCheckResult(
        check_name="rows_accepted",
        passed=rejected_rows == 0,
        severity=dg.AssetCheckSeverity.WARN,
        description=(
            f"{rejected_rows} row(s) rejected, kept in ops.rejects" if rejected_rows else None
        ),
        metadata={
            "rows_rejected": dg.MetadataValue.int(rejected_rows),
            "rejected_rows": metadata_table(["file", "line", "reason", "raw"], sample),
        },
    )

    validation = validate_table(con, table, SCHEMAS[table], files=hashes)
    yield dg.AssetCheckResult(
        check_name="schema_valid",
        passed=validation.passed,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata=validation_metadata(validation),
    )

    share = settings.replacement_warning_share
    replaced = large_replacements(con, share, hashes) if hashes else []
    yield dg.AssetCheckResult(
        check_name="replacements_plausible",
        passed=not replaced,
        severity=dg.AssetCheckSeverity.WARN,
        description=(
            f"removed more than {share:.0%} of what it replaced: "
            + "; ".join(r.describe() for r in replaced)
        )
        if replaced
        else None,
        metadata={"large_replacements": dg.MetadataValue.int(len(replaced))},
    )

    if reconciles:
        unbalanced = unbalanced_files(con, hashes) if hashes else []
        lost = [u for u in unbalanced if u.difference]
        yield dg.AssetCheckResult(
            check_name="reconciles_to_the_krona",
            passed=not unbalanced,
            # A krona lost between the file and the tables is a defect: block the marts. A gap
            # to the export's total row that unreadable amounts explain is visible, not fatal.
            severity=dg.AssetCheckSeverity.ERROR if lost else dg.AssetCheckSeverity.WARN,
            description="; ".join(u.describe() for u in unbalanced) or None,
            metadata={"unbalanced_files": dg.MetadataValue.int(len(unbalanced))},
        )


def _csv_loader(source: CsvSource) -> Loader:
    return lambda settings, months: load_source(settings, source, months)


def build_ingest_assets(months: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    """One asset per landed source; the ledger and the volume counts by month."""
    return [
        *(
            build_ingest_asset(
                s,
                s.table,
                _csv_loader(s),
                reconciles=s.amount is not None,
                partitions=months if s is LEDGER else None,
            )
            for s in CSV_SOURCES
        ),
        build_ingest_asset(VOLUMES, "raw.volume_cells", load_volumes, partitions=months),
    ]


@dg.asset_check(
    asset=dg.AssetKey(["raw", "volume_cells"]),
    description="Every delivered measure name is in the measure catalogue "
    "(dbt_project/seeds/matt_katalog.csv, names and aliases).",
)
def measures_known(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with closing(connect(warehouse.settings.warehouse_path)) as con:
        unknown = unknown_measures(con)
    return dg.AssetCheckResult(
        passed=not unknown,
        severity=dg.AssetCheckSeverity.WARN,
        description=(
            "unknown measure(s), add them or an alias to the catalogue: " + "; ".join(unknown)
        )
        if unknown
        else None,
        metadata={"unknown_measures": dg.MetadataValue.int(len(unknown))},
    )


@dg.asset_check(
    asset=dg.AssetKey(["raw", "report_structure"]),
    additional_deps=[
        dg.AssetKey(["raw", name]) for name in ("ledger_lines", "budget_lines", "forecast_lines")
    ],
    blocking=True,
    description="Every responsibility unit with data in a year maps to exactly one report line "
    "of that year (docs/inputs.md §4).",
)
def every_unit_maps_to_one_report_line(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with closing(connect(warehouse.settings.warehouse_path)) as con:
        problems = unit_mapping_problems(con)
    return dg.AssetCheckResult(
        passed=not problems,
        description="; ".join(problems[:10]) or None,
        metadata={"units_with_problems": dg.MetadataValue.int(len(problems))},
    )


def _plan_check(problems: list[str], what: str) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=not problems,
        severity=dg.AssetCheckSeverity.WARN,
        description=f"{len(problems)} {what}: " + "; ".join(problems) if problems else None,
        metadata={"unresolved": dg.MetadataValue.int(len(problems))},
    )


@dg.asset_check(
    asset=dg.AssetKey(["marts", "atgardsuppfoljning"]),
    description="Every measure's Matt (config/atgarder.csv) names exactly one measure of the "
    "catalogue; one that does not has no computed effect.",
)
def plan_drivers_known(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with closing(connect(warehouse.settings.warehouse_path)) as con:
        return _plan_check(unresolved_drivers(con), "measure(s) without a known driver")


@dg.asset_check(
    asset=dg.AssetKey(["marts", "malupfyllelse"]),
    description="Every indicator's Kalla (config/malindikatorer.csv) names exactly one measure "
    "of the catalogue or a KPI the Kolada fetch asks for; one that does not has no outcome.",
)
def indicator_sources_known(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with closing(connect(warehouse.settings.warehouse_path)) as con:
        return _plan_check(unresolved_indicator_sources(con), "indicator(s) without a source")
