"""Automation: the nightly schedules, the landing sensor, the ledger freshness check and the
failure hook that records a failed run in ops.runs."""

import json
from contextlib import closing
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import dagster as dg

from ifo_pipeline.defs.kolada import FETCH_KEY
from ifo_pipeline.defs.partitions import partition_ranges, range_tags
from ifo_pipeline.defs.resources import WarehouseResource
from ifo_pipeline.operations import (
    changed_files,
    landing_state,
    ledger_staleness,
    loaded_ledger_periods,
    months_of,
    not_loaded,
    run_key,
)
from ifo_pipeline.runs import finish_run
from ifo_pipeline.settings import TIMEZONE, Settings
from ifo_pipeline.store.warehouse import connect

LEDGER_KEY = dg.AssetKey(["raw", "ledger_lines"])
# What dg.define_asset_job returns; its class is not part of Dagster's public API.
AssetJob = Any


def build_schedule(
    job: AssetJob,
    settings: Settings,
    asset_keys: list[dg.AssetKey],
    check_keys: list[dg.AssetCheckKey],
):
    """Nightly: the sources without months, the marts and the ledger's freshness. Months are
    loaded by the landing sensor's runs (or a backfill), Kolada by its own schedule."""

    @dg.schedule(
        name="nightly",
        job=job,
        cron_schedule=settings.nightly_cron,
        execution_timezone=TIMEZONE,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="Every night: load what has landed outside the monthly partitions, "
        "rebuild and publish the marts "
        f"({settings.nightly_cron}, {TIMEZONE}; IFO_NIGHTLY_CRON).",
    )
    def nightly(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        return dg.RunRequest(asset_selection=asset_keys, asset_check_keys=check_keys)

    return nightly


def build_kolada_schedule(job: AssetJob, settings: Settings):
    """Before the nightly run: refresh Kolada in a job of its own, so that an outage fails
    only that job (re-runnable from the UI) and the finance marts are published regardless."""
    return dg.ScheduleDefinition(
        name="kolada_nightly",
        job=job,
        cron_schedule=settings.kolada_cron,
        execution_timezone=TIMEZONE,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="Every night: fetch Kolada, rebuild and publish the Kolada marts "
        f"({settings.kolada_cron}, {TIMEZONE}; IFO_KOLADA_CRON; gives up after "
        f"{settings.kolada_deadline_seconds} s, IFO_KOLADA_DEADLINE_SECONDS).",
    )


def build_landing_sensor(
    job: AssetJob,
    settings: Settings,
    partitions: dg.PartitionsDefinition,
    asset_keys: list[dg.AssetKey],
    unpartitioned_keys: list[dg.AssetKey],
):
    landing_dir = settings.landing_dir
    # Files need no Kolada fetch: the run loads them and rebuilds the marts.
    with_months = [key for key in asset_keys if key != FETCH_KEY]
    without_months = [key for key in unpartitioned_keys if key != FETCH_KEY]

    @dg.sensor(
        name="landing",
        job=job,
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Requests runs when files land in (or are re-delivered to) the "
        "landing directory: one per contiguous range of the months they "
        "hold, or one without months for budget, forecasts and config.",
    )
    def landing_sensor(context: dg.SensorEvaluationContext):
        previous = json.loads(context.cursor) if context.cursor else {}
        current = landing_state(landing_dir)
        changed = changed_files(previous, current)
        if changed:
            # New to this cursor is not new to the warehouse: what `ifo run` (or a run before
            # the sensor's first look) loaded asks for no run again.
            unseen = not_loaded(settings, changed)
            if unseen is None:  # the cursor stays: the next look asks again
                return dg.SkipReason("a run holds the warehouse: looking again next time")
            changed = unseen
        if not changed:
            context.update_cursor(json.dumps(current))
            return dg.SkipReason(f"nothing new in {landing_dir}")
        months, unreadable = months_of(landing_dir, changed)
        context.update_cursor(json.dumps(current))
        key = run_key(changed, current)
        tags = {"ifo/files": ", ".join(changed)[:1000]}
        ranges = partition_ranges(partitions, months, unreadable)
        if not ranges:
            return [dg.RunRequest(run_key=key, asset_selection=without_months, tags=tags)]
        return [
            dg.RunRequest(
                run_key=f"{key}:{start}:{end}",
                asset_selection=with_months,
                tags={**tags, **range_tags(start, end)},
            )
            for start, end in ranges
        ]

    return landing_sensor


@dg.asset_check(
    asset=LEDGER_KEY,
    description="Last month's ledger export has arrived by the "
    "configured day of this month (IFO_LEDGER_DUE_DAY).",
)
def ledger_fresh(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    settings = warehouse.settings
    today = datetime.now(ZoneInfo(TIMEZONE)).date()
    with closing(connect(settings.warehouse_path)) as con:
        staleness = ledger_staleness(loaded_ledger_periods(con), today, settings.ledger_due_day)
    return dg.AssetCheckResult(
        passed=not staleness.stale,
        severity=dg.AssetCheckSeverity.WARN,
        description=staleness.message,
        metadata={"expected_period": staleness.expected_period},
    )


@dg.failure_hook(required_resource_keys={"warehouse"})
def record_failed_run(context: dg.HookContext) -> None:
    """A failed step fails the run: say so in ops.runs, for runs the CLI did not start too
    (the UI, the daemon), so that `ifo status` remembers it."""
    settings = context.resources.warehouse.settings
    error = context.op_exception
    reason = f"{type(error).__name__}: {error}" if error else "failed"
    try:
        finish_run(
            settings.warehouse_path,
            context.run_id,
            context.job_name,
            "failed",
            f"step {context.step_key}: {reason}"[:4000],
        )
    except Exception:  # the record must never hide the failure it records
        context.log.exception("could not record the failed run in ops.runs")
