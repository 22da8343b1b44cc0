"""The nightly schedule, the landing sensor and the ledger freshness check."""

import json
from contextlib import closing
from datetime import datetime
from zoneinfo import ZoneInfo

import dagster as dg
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

from ifo_pipeline.defs.kolada import FETCH_KEY
from ifo_pipeline.defs.resources import WarehouseResource
from ifo_pipeline.ingest.warehouse import connect
from ifo_pipeline.operations import (
    changed_files,
    landing_state,
    ledger_staleness,
    loaded_ledger_periods,
    run_key,
)
from ifo_pipeline.settings import Settings

TIMEZONE = "Europe/Stockholm"
LEDGER_KEY = dg.AssetKey(["raw", "ledger_lines"])


def build_schedule(job: UnresolvedAssetJobDefinition, settings: Settings):
    return dg.ScheduleDefinition(
        name="nightly",
        job=job,
        cron_schedule=settings.nightly_cron,
        execution_timezone=TIMEZONE,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="Every night: refresh Kolada, load what has landed, rebuild and publish "
                    f"the marts ({settings.nightly_cron}, {TIMEZONE}; IFO_NIGHTLY_CRON).",
    )


def build_landing_sensor(job: UnresolvedAssetJobDefinition, settings: Settings,
                         all_keys: list[dg.AssetKey]):
    landing_dir = settings.landing_dir
    # Files need no Kolada fetch: the run loads them and rebuilds the marts.
    selection = [key for key in all_keys if key != FETCH_KEY]

    @dg.sensor(name="landing", job=job, minimum_interval_seconds=60,
               default_status=dg.DefaultSensorStatus.RUNNING,
               description="Requests a run when a file lands in (or is re-delivered to) the "
                           "landing directory.")
    def landing_sensor(context: dg.SensorEvaluationContext):
        previous = json.loads(context.cursor) if context.cursor else {}
        current = landing_state(landing_dir)
        changed = changed_files(previous, current)
        context.update_cursor(json.dumps(current))
        if not changed:
            return dg.SkipReason(f"nothing new in {landing_dir}")
        return dg.RunRequest(run_key=run_key(changed, current), asset_selection=selection,
                             tags={"ifo/files": ", ".join(changed)[:1000]})

    return landing_sensor


@dg.asset_check(asset=LEDGER_KEY, description="Last month's ledger export has arrived by the "
                "configured day of this month (IFO_LEDGER_DUE_DAY).")
def ledger_fresh(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    settings = warehouse.settings
    today = datetime.now(ZoneInfo(TIMEZONE)).date()
    with closing(connect(settings.warehouse_path)) as con:
        staleness = ledger_staleness(loaded_ledger_periods(con), today,
                                     settings.ledger_due_day)
    return dg.AssetCheckResult(passed=not staleness.stale, severity=dg.AssetCheckSeverity.WARN,
                               description=staleness.message,
                               metadata={"expected_period": staleness.expected_period})
