"""`ifo`: the command line for the nightly run, the demo and the controllers' terminal.

ifo sample            write the demo's sample exports into the landing directory
ifo run               load what has landed, rebuild and publish the marts (Dagster job)
ifo run --months 2019-01:2019-03    also reload those months from the archived files
ifo report --month 2019-03    print the month's result tables (tkr) from the published marts
ifo status            what loaded last, from which file, what failed and why, what is stale
"""

from __future__ import annotations

import argparse
import os
import sys
from contextlib import closing, redirect_stdout

from ifo_pipeline.settings import TIMEZONE, Settings


def cmd_sample(args: argparse.Namespace, settings: Settings) -> int:
    from ifo_pipeline.sample.generator import generate_sample

    generate_sample(settings.landing_dir, rows_per_unit_month=args.rows)
    print(f"Sample exports written to {settings.landing_dir}")
    return 0


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from ifo_pipeline.runner import run_pipeline

    if args.verbose:
        outcome = run_pipeline(
            settings, log_level="DEBUG", offline=args.offline, months=args.months
        )
    else:
        # dbt's own output (dagster-dbt writes it to stdout) goes to a log file, not the terminal.
        log_path = settings.warehouse_dir / "logs" / "last_run.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("w", encoding="utf-8") as log, redirect_stdout(log):
            outcome = run_pipeline(settings, offline=args.offline, months=args.months)
        print(f"dbt output: {log_path}")
    for line in outcome.notes:
        print(line)
    if not outcome.success:
        print(outcome.failure_message, file=sys.stderr)
        return 1
    print(f"Run {outcome.run_id} succeeded; marts published to {settings.published_path}")
    return 0


def month_range(text: str) -> tuple[int, int]:
    """'2019-01:2019-03' or '2019-03' -> (201901, 201903)."""
    from ifo_pipeline.months import period_of

    first, _, last = text.partition(":")
    try:
        months = (period_of(first), period_of(last or first))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not YYYY-MM[:YYYY-MM]: {text}") from None
    if months[0] > months[1] or not all(1 <= m % 100 <= 12 for m in months):
        raise argparse.ArgumentTypeError(f"not a range of months: {text}")
    return months


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    from ifo_pipeline.publish import connect_published
    from ifo_pipeline.reporting.report import (
        render_flags,
        render_result_report,
        render_volume_table,
    )

    year, month = (int(part) for part in args.month.split("-"))
    path = settings.published_path
    if not path.exists():
        print(f"No published marts at {path}: run `ifo run` first.", file=sys.stderr)
        return 1
    with closing(connect_published(path)) as con:
        try:
            print(render_result_report(con, year, month))
            print(render_flags(con, year, month))
            print()
            print(render_volume_table(con, year, month))
        except LookupError as exc:
            print(f"Nothing to report: {exc}.", file=sys.stderr)
            return 1
    return 0


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    import duckdb

    from ifo_pipeline.operations import status_report
    from ifo_pipeline.publish import connect_published

    if not settings.warehouse_path.exists():
        print(f"No warehouse at {settings.warehouse_path}: nothing has run yet.")
        return 1
    try:
        con = duckdb.connect(str(settings.warehouse_path), read_only=True)
        where = f"{settings.warehouse_path}"
    except duckdb.IOException:  # a run holds the working warehouse: read the published copy
        con = connect_published(settings.published_path)
        where = f"{settings.published_path} (a run is in progress; last published state)"
    with closing(con):
        print(f"Warehouse: {where}")
        print(
            status_report(
                con,
                datetime.now(ZoneInfo(TIMEZONE)).date(),
                settings.ledger_due_day,
                settings.replacement_warning_share,
            )
        )
    if os.environ.get("DAGSTER_HOME"):
        import dagster as dg

        instance = dg.DagsterInstance.get()
        print("Last runs (Dagster):")
        for run in instance.get_runs(limit=5):
            record = instance.get_run_record_by_id(run.run_id)
            started = "-"
            if record and record.start_time:
                started = datetime.fromtimestamp(record.start_time).strftime("%Y-%m-%d %H:%M")
            print(f"  {run.run_id[:8]}  {run.status.value:<9} {started}  {run.job_name}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="ifo", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sample = sub.add_parser("sample", help="write the demo's sample exports")
    sample.add_argument(
        "--rows", type=int, default=60, help="ledger rows per unit and month (default 60)"
    )
    run = sub.add_parser("run", help="materialise every asset from what has landed")
    run.add_argument("--verbose", action="store_true", help="show Dagster's and dbt's logs")
    run.add_argument(
        "--months",
        type=month_range,
        metavar="YYYY-MM[:YYYY-MM]",
        help="reload these months from the archived files (default: the months "
        "of the files landed since the last load)",
    )
    run.add_argument(
        "--offline",
        action="store_true",
        help="do not fetch from Kolada ($KOLADA_BASE_URL); parse what has landed",
    )
    sub.add_parser("status", help="what loaded last, what failed and why, what is stale")
    report = sub.add_parser("report", help="print a month's result tables")
    report.add_argument("--month", required=True, help="YYYY-MM, e.g. 2019-03")
    args = parser.parse_args(argv)
    settings = Settings.from_env(dict(os.environ))
    handler = {"sample": cmd_sample, "run": cmd_run, "report": cmd_report, "status": cmd_status}[
        args.command
    ]
    return handler(args, settings)


if __name__ == "__main__":
    sys.exit(main())
