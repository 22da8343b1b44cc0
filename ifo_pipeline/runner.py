"""Run the nightly job in-process through the same Dagster definitions the UI loads.

With DAGSTER_HOME set, the run is recorded in that instance: it shows in the UI's run history
and can be re-executed from there.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import dagster as dg

from ifo_pipeline.ingest.sources import CSV_SOURCES, landed_files
from ifo_pipeline.months import month_key
from ifo_pipeline.operations import pending_months
from ifo_pipeline.settings import Settings


@dataclass
class RunOutcome:
    success: bool
    run_id: str
    failure_message: str = ""
    notes: list[str] = field(default_factory=list)


def run_pipeline(
    settings: Settings,
    instance: dg.DagsterInstance | None = None,
    log_level: str = "WARNING",
    offline: bool = False,
    run_config: dict | None = None,
    months: tuple[int, int] | None = None,
) -> RunOutcome:
    """Run the nightly job. `offline` leaves out the Kolada fetch and parses what has landed.

    `months` (YYYYMM, first and last) reloads that range of months; by default the run covers
    the months of the ledger and volume files that have landed since the last load.
    """
    from ifo_pipeline.defs import NIGHTLY_JOB, build_definitions, checks_for
    from ifo_pipeline.defs.kolada import FETCH_KEY
    from ifo_pipeline.defs.partitions import monthly_partitions, partition_ranges, range_tags

    partitions = monthly_partitions(settings)
    if months is None:
        pending, unreadable = pending_months(settings)
        ranges = partition_ranges(partitions, pending, unreadable)
        # One run over the whole span: the months between are reloaded, to the same result.
        span = (ranges[0][0], ranges[-1][1]) if ranges else None
    else:
        span = (month_key(months[0]), month_key(months[1]))
        valid = partitions.get_partition_keys()
        if not set(span) <= set(valid):
            return RunOutcome(
                False,
                "",
                f"ifo run: {span[0]} .. {span[1]} is not within the "
                f"monthly partitions {valid[0]} .. {valid[-1]} (IFO_FIRST_MONTH "
                "to the current month); nothing was run.",
            )
    notes = [
        f"{source.folder}/: no {source.name.replace('_', ' ')} file landed yet"
        for source in CSV_SOURCES
        if not landed_files(settings.landing_dir, source)
    ]
    defs = build_definitions(settings, parse_dbt=True)
    graph = defs.resolve_asset_graph()
    keys = [
        k
        for k in graph.get_all_asset_keys()
        if not (offline and k == FETCH_KEY) and (span or graph.get(k).partitions_def is None)
    ]
    job = defs.resolve_job_def(NIGHTLY_JOB).get_subset(
        asset_selection=set(keys),
        asset_check_selection=set(checks_for(graph.asset_check_keys, keys)),
    )
    if span:
        notes.append(f"months {span[0]} .. {span[1]}")
    if instance is None:
        instance = (
            dg.DagsterInstance.get()
            if os.environ.get("DAGSTER_HOME")
            else dg.DagsterInstance.ephemeral()
        )
    result = job.execute_in_process(
        instance=instance,
        raise_on_error=False,
        tags=range_tags(*span) if span else None,
        run_config={
            **(run_config or {}),
            "loggers": {"console": {"config": {"log_level": log_level}}},
        },
    )
    problems, warnings = [], []
    for evaluation in result.get_asset_check_evaluations():
        if evaluation.passed:
            continue
        where = f"{evaluation.asset_key.to_user_string()} ({evaluation.check_name})"
        text = f"{where}: {evaluation.description or 'failed'}"
        if evaluation.severity == dg.AssetCheckSeverity.ERROR:
            problems.append(text)
        else:
            warnings.append(text)
    for event in result.get_step_failure_events():
        error = event.step_failure_data.error
        if error and error.cls_name == "DagsterAssetCheckFailedError":
            continue  # the failed check itself is reported above, with its reason
        problems.append(f"step {event.step_key}: {_error_summary(error)}")
    notes += [f"warning: {w}" for w in warnings]
    if result.success:
        return RunOutcome(True, result.run_id, notes=notes)
    message = (
        f"ifo run failed (run {result.run_id}): "
        + "; ".join(problems or ["see the run log"])
        + f". Nothing was published: {settings.published_path.name} still holds the last good "
        "run's marts. Fix the cause (ops.load_log and ops.rejects say what was refused and why) "
        "and run again, or re-execute the run from failure in the Dagster UI."
    )
    return RunOutcome(False, result.run_id, message, notes)


def _error_summary(error) -> str:
    """The informative part of a step's error: dbt's own errors when dbt failed."""
    if error is None:
        return "failed"
    while error.cause is not None:  # the user code's own exception, not Dagster's wrapper
        error = error.cause
    text = error.message.strip()
    if "Errors parsed from dbt logs:" in text:
        text = text.split("Errors parsed from dbt logs:", 1)[1]
    return " ".join(line.strip() for line in text.splitlines() if line.strip())[:1500]
