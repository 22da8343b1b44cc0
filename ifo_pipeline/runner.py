"""Run the pipeline in-process through the same Dagster definitions the UI loads.

`ifo run` is two Dagster runs: the finance job (`ifo_all`: load what has landed, rebuild and
publish the marts from the last complete Kolada fetch), then, unless offline or fetched within
the day, the Kolada job (fetch, load, rebuild the Kolada marts, publish). A Kolada outage
therefore never holds back the finance figures: it fails the second run only, within
IFO_KOLADA_DEADLINE_SECONDS.

Every run is recorded in `ops.runs`. With DAGSTER_HOME set, runs are also recorded in that
instance: they show in the UI's run history and can be re-executed from there.
"""

from __future__ import annotations

import os
import uuid
from contextlib import closing, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from ifo_pipeline import stopping
from ifo_pipeline.kolada.landing import latest_fetch
from ifo_pipeline.months import month_key, months_between, period_of
from ifo_pipeline.operations import nothing_new, pending_months
from ifo_pipeline.publish import migrate_layout
from ifo_pipeline.runs import finish_run, start_run
from ifo_pipeline.settings import Settings, SettingsError
from ifo_pipeline.store.landing import landed_files
from ifo_pipeline.store.sources import CSV_SOURCES, LEDGER, SIE
from ifo_pipeline.store.warehouse import held_open

if TYPE_CHECKING:
    import dagster as dg


@dataclass
class RunOutcome:
    success: bool
    run_id: str
    failure_message: str = ""
    notes: list[str] = field(default_factory=list)
    published: bool = False
    kolada_failure: str = ""  # set when only the Kolada part failed
    # Files refused whole tonight (file, line, reason): the rest was loaded and published,
    # and the refused files' sources keep what they held before.
    refused: list[str] = field(default_factory=list)


# A span of at most this many months is loaded and built in one Dagster run, a longer one (a
# first load, a backfill) in two (see run_pipeline): a run of its own costs 1.5-2 s (its
# creation, start and records), a month of a range an event per asset.
ONE_RUN_MONTHS = 3


class Interrupted(Exception):
    """Ctrl-C or SIGTERM during a run: what was stopped, and that the warehouse is intact."""


def run_pipeline(
    settings: Settings,
    instance: dg.DagsterInstance | None = None,
    log_level: str = "CRITICAL",
    offline: bool = False,
    kolada_config: dict | None = None,
    months: tuple[int, int] | None = None,
    force: bool = False,
) -> RunOutcome:
    """Run the finance job, then (unless `offline`, or Kolada was fetched within the day and
    not `force`) the Kolada job (`kolada_config`: its run config, e.g. the fetch's retries).

    `months` (YYYYMM, first and last) reloads that range of months; by default the run covers
    the months of the ledger and volume files that have landed since the last load. With
    nothing new to load (and no Kolada refresh due) nothing is rebuilt, unless `force`.
    """
    notes = migrate_layout(settings.warehouse_dir)
    kolada_due = not offline and kolada_refresh_due(settings)
    if months is None:
        pending, unreadable = pending_months(settings)
        # Answered before Dagster is imported (2 s, most of a night with nothing new).
        if not (force or pending or unreadable or kolada_due) and nothing_new(settings):
            return RunOutcome(
                True,
                "",
                notes=[
                    *notes,
                    "Nothing new has landed since the last good run and no Kolada refresh is "
                    f"due: {settings.published_path.name} is current (ifo run --force rebuilds "
                    "it).",
                ],
            )

    from ifo_pipeline.defs import KOLADA_JOB, NIGHTLY_JOB, build_definitions, checks_for
    from ifo_pipeline.defs.kolada import FETCH_KEY
    from ifo_pipeline.defs.partitions import monthly_partitions, partition_ranges, range_tags
    from ifo_pipeline.defs.transform import FULL_REFRESH_TAG

    partitions = monthly_partitions(settings)
    if months is None:
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
                f"ifo run: {span[0]} .. {span[1]} is not within the monthly partitions "
                f"{valid[0]} .. {valid[-1]} (IFO_FIRST_MONTH to the current month); nothing "
                "was run.",
            )
    notes += [
        f"{source.folder}/: no {source.name.replace('_', ' ')} file landed yet"
        for source in CSV_SOURCES
        if not landed_files(settings.landing_dir, source)
        and not (source is LEDGER and landed_files(settings.landing_dir, SIE))
    ]
    defs = build_definitions(settings)  # the manifest re-parsed when the models changed
    graph = defs.resolve_asset_graph()
    nightly = defs.resolve_job_def(NIGHTLY_JOB)
    finance_keys = [k for k in graph.get_all_asset_keys() if k != FETCH_KEY]
    monthly = [k for k in finance_keys if graph.get(k).partitions_def is not None]
    rest = [k for k in finance_keys if k not in monthly]

    def subset(keys: list[dg.AssetKey]) -> dg.JobDefinition:
        checks = checks_for(graph.asset_check_keys, keys)
        if keys == monthly:  # the ledger's freshness is judged once, with the marts
            checks = [c for c in checks if c.asset_key in keys and c.name != "ledger_fresh"]
        return nightly.get_subset(asset_selection=set(keys), asset_check_selection=set(checks))

    if span:
        notes.append(f"months {span[0]} .. {span[1]}")
    if instance is None:
        instance = dagster_instance(notes)
    config = {"loggers": {"console": {"config": {"log_level": log_level}}}}
    # Asked for by hand, a rebuild is a whole one: the incremental models too (a reload of
    # the same file gives the same rows, but perhaps masked or computed by newer code).
    rebuild = {FULL_REFRESH_TAG: "true"} if force or months else None
    if span and months_between(*map(period_of, span)) < ONE_RUN_MONTHS:
        # A night's month or two: one run. If the loads fail, the other files still get their
        # verdict in it, and nothing downstream of the loads is built or published.
        tags = {**range_tags(*span), **(rebuild or {})}
        finance = _execute(
            settings, subset(finance_keys), instance, config, f"{span[0]}..{span[1]}", tags
        )
        outcome = _outcome(settings, [finance], notes)
    elif span:
        # The months' loads run on their own, then everything else without a partition range:
        # Dagster records a run's range against every asset in it (one event per month and
        # asset: a minute for ten years of months in its SQLite storage).
        loads = _execute(
            settings, subset(monthly), instance, config, f"{span[0]}..{span[1]}", range_tags(*span)
        )
        if not loads.success:
            # Every other file still gets its verdict tonight; nothing is built or published.
            others = [k for k in rest if k.path[0] == "raw"]
            verdicts = _execute(settings, subset(others), instance, config, None, None)
            return _outcome(settings, [loads, verdicts], notes)
        finance = _execute(settings, subset(rest), instance, config, None, rebuild)
        outcome = _outcome(settings, [loads, finance], notes)
    else:
        finance = _execute(settings, subset(rest), instance, config, None, rebuild)
        outcome = _outcome(settings, [finance], notes)
    if offline or not outcome.success:
        return outcome
    if not (kolada_due or force):  # a month landed by day must not wait for a second fetch
        outcome.notes.append(
            "Kolada was fetched less than a day ago: not fetched again (ifo run --force does)."
        )
        return outcome
    kolada_job = defs.resolve_job_def(KOLADA_JOB)
    kolada = _execute(
        settings, kolada_job, instance, {**(kolada_config or {}), **config}, None, None
    )
    if not kolada.success:
        outcome.success = False
        outcome.kolada_failure = kolada_failure_message(settings, kolada)
        outcome.failure_message = outcome.kolada_failure
    return outcome


# What releases before Dagster's public storage named in DAGSTER_HOME's dagster.yaml.
REMOVED_EVENT_LOG = "ifo_pipeline.defs.event_log"


def adopt_earlier_event_log(home: Path) -> list[str]:
    """Earlier releases kept the event log (Dagster's SQLite schema, in files of their own
    class) in `DAGSTER_HOME/storage/`; Dagster's default storage reads `history/runs/`. Move
    the files there, once, while no event has been recorded there yet; returns what was done.
    (The run records, `history/runs.db`, were always Dagster's own.)"""
    earlier, default = home / "storage", home / "history" / "runs"
    index = default / "index.db"
    if not (earlier / "index.db").is_file() or (index.is_file() and _holds_events(index)):
        return []
    default.mkdir(parents=True, exist_ok=True)
    moved = 0
    for source in sorted(earlier.glob("*.db*")):  # each run's .db, the index, WAL files
        os.replace(source, default / source.name)
        moved += 1
    return [f"moved the earlier release's Dagster event log ({moved} files) to {default}"]


def _holds_events(index: Path) -> bool:
    import sqlite3

    with closing(sqlite3.connect(f"file:{index}?mode=ro", uri=True)) as con:
        tables = {row[0] for row in con.execute("SELECT name FROM sqlite_master")}
        return "event_logs" in tables and bool(
            con.execute("SELECT 1 FROM event_logs LIMIT 1").fetchone()
        )


def dagster_instance(notes: list[str] | None = None) -> dg.DagsterInstance:
    """DAGSTER_HOME's instance (the UI's run history), else one in memory. One that cannot be
    loaded is a setting to fix, said as such (SettingsError), not a crash. What was migrated
    is added to `notes`."""
    import dagster as dg

    home = os.environ.get("DAGSTER_HOME")
    if not home:
        return dg.DagsterInstance.ephemeral()
    (notes if notes is not None else []).extend(adopt_earlier_event_log(Path(home)))
    try:
        return dg.DagsterInstance.get()
    except Exception as exc:
        hint = ""
        if REMOVED_EVENT_LOG in str(exc):
            hint = (
                " It names the pooled event log of an earlier release, removed: copy this "
                "release's warehouse/dagster_home/dagster.yaml there (Dagster's default "
                "storage; the run history is kept)."
            )
        raise SettingsError(
            f"Dagster's instance in {Path(home) / 'dagster.yaml'} cannot be loaded: "
            f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}.{hint}"
        ) from exc


def _execute(settings, job, instance, config, months_text, tags) -> dg.ExecuteInProcessResult:
    """One Dagster run, recorded in ops.runs from start to end (interrupted included), with
    the warehouse held open in this process while its steps run."""
    import dagster as dg

    with held_open(settings.warehouse_path):
        stopping.check()  # a stop asked for before the run began (and swallowed by a library)
        run_id = str(uuid.uuid4())
        start_run(settings.warehouse_path, run_id, job.name, months_text)
        try:
            result = job.execute_in_process(
                instance=instance, raise_on_error=False, tags=tags, run_config=config, run_id=run_id
            )
        except (KeyboardInterrupt, dg.DagsterExecutionInterruptedError):
            _record_interrupt(settings, run_id, job.name)
            raise Interrupted(
                f"ifo run was stopped during the {job.name} run ({run_id}). Nothing half-done "
                f"was kept: loads are all or nothing, and {settings.published_path.name} still "
                "holds the last good run's marts. Run ifo run again to finish."
            ) from None
        interrupted = any(
            _was_interrupt(e.step_failure_data.error) for e in result.get_step_failure_events()
        )
        if interrupted:
            _record_interrupt(settings, run_id, job.name)
            raise Interrupted(
                f"ifo run was stopped during the {job.name} run ({run_id}). Nothing half-done "
                f"was kept, and {settings.published_path.name} still holds the last good run's "
                "marts. Run ifo run again to finish."
            )
        problems, warnings = run_findings(result)
        message = "; ".join(problems) or "; ".join(f"warning: {w}" for w in warnings) or "ok"
        finish_run(
            settings.warehouse_path,
            run_id,
            job.name,
            "succeeded" if result.success else "failed",
            message[:4000],
        )
        return result


def _record_interrupt(settings: Settings, run_id: str, job: str) -> None:
    """Best effort: a stop in the middle of a step may leave that step's handle on the
    warehouse open in this process until it exits; the next run's status says the rest."""
    with suppress(duckdb.Error):
        finish_run(settings.warehouse_path, run_id, job, "interrupted", "stopped by a signal")


def run_findings(result: dg.ExecuteInProcessResult) -> tuple[list[str], list[str]]:
    """What failed (blocking checks, steps) and what warned, each with its reason."""
    import dagster as dg

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
    return problems, warnings


def _outcome(
    settings: Settings, results: list[dg.ExecuteInProcessResult], notes: list[str]
) -> RunOutcome:
    """The finance part's outcome over its Dagster runs (the months' loads, then the rest)."""
    problems, warnings = [], []
    for result in results:
        found = run_findings(result)
        problems += found[0]
        warnings += found[1]
    notes = [*notes, *(f"warning: {w}" for w in warnings)]
    failed = [r for r in results if not r.success]
    if not failed:
        refused = [
            e.description or e.asset_key.to_user_string()
            for result in results
            for e in result.get_asset_check_evaluations()
            if e.check_name == REFUSED_CHECK and not e.passed
        ]
        return RunOutcome(True, results[-1].run_id, notes=notes, published=True, refused=refused)
    message = (
        f"ifo run failed (run {failed[0].run_id}): "
        + "; ".join(problems or ["see the run log"])
        + f". Nothing was published: {settings.published_path.name} still holds the last good "
        "run's marts. Fix the cause (ifo status, ops.load_log and ops.rejects say what was "
        "refused and why) and run again, or re-execute the run from failure in the Dagster UI."
    )
    return RunOutcome(False, failed[0].run_id, message, notes)


# The check that fails for a file refused whole: a warning (one bad delivery never holds back
# the others), and yet a person must re-deliver the file (`ifo run` exits 1).
REFUSED_CHECK = "files_accepted"


def kolada_failure_message(settings: Settings, result: dg.ExecuteInProcessResult) -> str:
    problems, _ = run_findings(result)
    last = latest_fetch(settings.landing_dir)
    when = _fetch_time(last.name) if last else None
    return (
        f"The finance marts were published to {settings.published_path}, but Kolada could "
        f"not be reached at {settings.kolada_base_url} (gave up within "
        f"{settings.kolada_deadline_seconds} s): {'; '.join(problems) or 'see the run log'}. "
        "The Kolada marts keep the last good fetch"
        + (f", from {when:%Y-%m-%d %H:%M} UTC" if when else " (none has landed yet)")
        + ". Rerun later (ifo run, or the kolada job in the Dagster UI), or use ifo run "
        "--offline to leave Kolada out."
    )


def kolada_refresh_due(settings: Settings, now: datetime | None = None) -> bool:
    """Kolada publishes a few times a year: one fetch a day is plenty."""
    last = latest_fetch(settings.landing_dir)
    if last is None:
        return True
    when = _fetch_time(last.name)
    now = now or datetime.now(UTC).replace(tzinfo=None)
    return when is None or (now - when).total_seconds() > 20 * 3600


def _fetch_time(name: str) -> datetime | None:
    try:
        return datetime.strptime(name.removeprefix("fetch_"), "%Y%m%dT%H%M%SZ")
    except ValueError:
        return None


INTERRUPTS = {"DagsterExecutionInterruptedError", "InterruptException", "KeyboardInterrupt"}


def _was_interrupt(error) -> bool:
    """A step that failed because the run was stopped (DuckDB reports a stop as its own)."""
    while error is not None:
        if error.cls_name in INTERRUPTS:
            return True
        error = error.cause
    return False


def _error_summary(error) -> str:
    """The informative part of a step's error: the user code's own exception, first lines."""
    if error is None:
        return "failed"
    while error.cause is not None:  # the user code's own exception, not Dagster's wrapper
        error = error.cause
    return " ".join(line.strip() for line in error.message.splitlines() if line.strip())[:1500]
