"""`ifo`: the command line for the nightly run, the demo and the controllers' terminal.

    ifo sample            write the demo's sample exports into the landing directory
    ifo run               load what has landed, rebuild and publish the marts, refresh Kolada
    ifo run --offline     the same without Kolada (the marts use the last landed fetch)
    ifo run --months 2019-01:2019-03    also reload those months from the archived files
    ifo report --month 2019-03    print the month report (tkr) from the published marts
    ifo report --format html      write it as reports/YYYY-MM.html (also xlsx, pdf)
    ifo status            the last runs, what was refused, what does not add up, what is stale;
                          exits 1 when something needs a person
    ifo sql [QUERY]       the published marts in SQL (no query: an interactive DuckDB shell)
    ifo export --format parquet DIR   the raw layer as Parquet, for the dbt project on Spark

Expected failures (a refused file, no network, a bad argument) end in one paragraph, never a
stack trace; `--verbose`, and the log under $IFO_WAREHOUSE_DIR/logs/, have the details.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback
from contextlib import closing, redirect_stderr, redirect_stdout
from pathlib import Path

import duckdb

from ifo_pipeline import stopping
from ifo_pipeline.settings import TIMEZONE, WAREHOUSE_DIR_ENV, Settings, SettingsError

EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130
REPORT_FORMATS = ("text", "html", "xlsx", "pdf")


def cmd_sample(args: argparse.Namespace, settings: Settings) -> int:
    from ifo_pipeline.sample.generator import generate_sample
    from ifo_pipeline.sample.region import HOME, SECOND, generate_region

    if args.region:
        generate_region(settings.landing_dir, rows_per_unit_month=args.rows)
        print(
            f"Sample exports of a region written to {settings.landing_dir}: {HOME} (Tyresö, CSV) "
            f"and {SECOND} (Vaxholm, SIE 4), each in its own folder"
        )
        return 0
    generate_sample(settings.landing_dir, rows_per_unit_month=args.rows)
    print(f"Sample exports written to {settings.landing_dir}")
    return 0


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from ifo_pipeline.region import is_region, run_region
    from ifo_pipeline.runner import Interrupted, run_pipeline

    region = is_region(settings)
    if not region and not settings.warehouse_path.exists():
        from ifo_pipeline.operations import landing_state

        if not landing_state(settings.landing_dir):
            # A mistyped IFO_WAREHOUSE_DIR would otherwise publish an empty warehouse that
            # `ifo status` then calls well.
            print(
                f"ifo run: there is no warehouse in {settings.warehouse_dir} "
                f"({WAREHOUSE_DIR_ENV}) and nothing has landed in {settings.landing_dir}: is "
                "the path right? A new warehouse is made by the first run that has files to "
                "load (ifo sample writes the demo's).",
                file=sys.stderr,
            )
            return EXIT_FAILED
        print(f"Making a new warehouse in {settings.warehouse_dir}")
    log_path = settings.warehouse_dir / "logs" / "last_run.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    options = {"offline": args.offline, "months": args.months, "force": args.force}
    run = run_region if region else run_pipeline
    try:
        if args.verbose:
            outcome = run(settings, log_level="DEBUG", **options)
        else:
            # Dagster's and dbt's own output go to the log file, not the terminal.
            with (
                log_path.open("w", encoding="utf-8") as log,
                redirect_stdout(log),
                redirect_stderr(log),
            ):
                _log_to(log, logging.INFO)
                outcome = run(settings, log_level="INFO", **options)
    except (Interrupted, KeyboardInterrupt, Exception) as exc:
        # A stop can also surface as a library's own error: Python reports a Ctrl-C that
        # lands while a class is being defined (a slow import) as "RuntimeError: Error calling
        # __set_name__", and DuckDB as an interrupted query.
        if not isinstance(exc, Interrupted | KeyboardInterrupt) and not stopping.is_stop(exc):
            raise
        stop_children()
        print(
            (str(exc) if isinstance(exc, Interrupted) else "")
            or "ifo run was stopped before its run began. Nothing half-done was kept, and "
            f"{settings.published_path.name} still holds the last good run's marts. Run ifo run "
            "again to finish.",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    if not args.verbose:
        print(f"Log: {log_path}")
    if region:
        return _region_verdict(outcome, settings)
    return _run_verdict(outcome, settings.published_path)


def _run_verdict(outcome, published_path: Path, prefix: str = "") -> int:
    """Print one warehouse's run outcome; the exit code it asks for."""
    for line in outcome.notes:
        print(f"{prefix}{line}")
    if not outcome.success:
        print(f"{prefix}{outcome.failure_message}", file=sys.stderr)
        return EXIT_FAILED
    if outcome.published:
        print(f"{prefix}Run {outcome.run_id} succeeded; marts published to {published_path}")
    if outcome.refused:
        print(
            f"{prefix}{len(outcome.refused)} landed file(s) were refused whole: "
            + "; ".join(outcome.refused)
            + ". Everything else was loaded and published; what the refused files would have "
            "replaced keeps its earlier delivery. Fix the file and land it again (ifo status "
            "lists refusals until they are re-delivered).",
            file=sys.stderr,
        )
        return EXIT_FAILED
    return 0


def _region_verdict(outcome, settings: Settings) -> int:
    """Each municipality's outcome under its code, then the region's file; exit 1 when any
    municipality needs a person (the others are published all the same)."""
    code = 0
    for run in outcome.runs:
        local = settings.for_municipality(run.kommunkod)
        code = max(code, _run_verdict(run.outcome, local.published_path, f"{run.kommunkod}: "))
    if outcome.stray_files:
        print(
            f"{len(outcome.stray_files)} file(s) at the landing root belong to no municipality "
            f"and were not loaded: {', '.join(outcome.stray_files)}. In a region each "
            f"municipality's files go in its own folder ({settings.landing_dir}/<kod>/...).",
            file=sys.stderr,
        )
        code = EXIT_FAILED
    if outcome.published:
        print(
            f"The region's file {settings.published_path} holds municipalities "
            f"{', '.join(outcome.published)}."
        )
    failed = [run.kommunkod for run in outcome.failed]
    if failed:
        print(
            f"Not published tonight: {', '.join(failed)} (each keeps its last good file); "
            f"every other municipality was published.",
            file=sys.stderr,
        )
    return code


def stop_children(grace_seconds: float = 5.0) -> None:
    """A stopped run leaves no child behind (a dbt build holding the warehouse's lock)."""
    import psutil

    # Python's own multiprocessing resource tracker cleans up after us by itself.
    children = [
        child
        for child in psutil.Process().children(recursive=True)
        if "resource_tracker" not in " ".join(_cmdline(child))
    ]
    for child in children:
        child.terminate()
    _, alive = psutil.wait_procs(children, timeout=grace_seconds)
    for child in alive:
        child.kill()
    psutil.wait_procs(alive, timeout=grace_seconds)  # gone, its lock on the warehouse too


def _cmdline(process) -> list[str]:
    import psutil

    try:
        return process.cmdline()
    except psutil.Error:  # gone already
        return []


def _log_to(stream, level: int) -> None:
    """The package's own log lines (files loaded, refused, retries) into the run's log."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("ifo_pipeline")
    logger.handlers = [handler]
    logger.setLevel(level)


def month_range(text: str) -> tuple[int, int]:
    """'2019-01:2019-03' or '2019-03' -> (201901, 201903)."""
    from ifo_pipeline.months import period_of

    first, _, last = text.partition(":")
    try:
        months = (period_of(first), period_of(last or first))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not YYYY-MM or YYYY-MM:YYYY-MM (e.g. 2019-01:2019-03)"
        ) from None
    if months[0] > months[1] or not all(1 <= m % 100 <= 12 for m in months):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a range of months (YYYY-MM:YYYY-MM, first before last, months 01-12)"
        )
    return months


def one_month(text: str) -> tuple[int, int]:
    """'2019-03' -> (2019, 3)."""
    if ":" in text:
        raise argparse.ArgumentTypeError(f"{text!r} is not one month YYYY-MM (e.g. 2019-03)")
    first, _ = month_range(text)
    return first // 100, first % 100


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    from ifo_pipeline.publish import connect_published
    from ifo_pipeline.reporting.content import gather, latest_ledger_month
    from ifo_pipeline.reporting.report import render_text, write_reports

    path = settings.published_path
    if not path.exists():
        print(f"No published marts at {path}: run `ifo run` first.", file=sys.stderr)
        return EXIT_FAILED
    report_format = args.format or (args.output.suffix.lstrip(".") if args.output else "text")
    if report_format not in REPORT_FORMATS:
        print(f"ifo report: cannot tell the format of {args.output}: use --format", file=sys.stderr)
        return EXIT_USAGE
    with closing(connect_published(path)) as con:
        month = args.month or latest_ledger_month(con)
        if month is None:
            print("Nothing to report: no ledger month is published yet.", file=sys.stderr)
            return EXIT_FAILED
        try:
            if report_format == "text":
                text = render_text(gather(con, *month))
                if args.output:
                    args.output.write_text(text, encoding="utf-8")
                else:
                    print(text, end="")
                return 0
            stem = (
                args.output.with_suffix("")
                if args.output
                else settings.reports_dir / f"{month[0]}-{month[1]:02d}"
            )
            written = write_reports(con, *month, stem, [report_format])
        except LookupError as exc:
            print(f"Nothing to report: {exc}.", file=sys.stderr)
            return EXIT_FAILED
    for skipped in written.skipped:
        print(f"ifo report: {skipped}", file=sys.stderr)
    for file in written.files:
        print(file)
    return 0 if written.files else EXIT_FAILED


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    codes = settings.municipality_codes()
    if not codes:
        return _status_of(settings)
    from ifo_pipeline.region import folder_problem, stray_files

    code = 0
    for kommunkod in codes:
        local = settings.for_municipality(kommunkod)
        print(f"== Kommun {kommunkod} ==")
        problem = folder_problem(local)
        if problem:
            print(f"The folder is refused: {problem}.")
            code = EXIT_FAILED
            continue
        code = max(code, _status_of(local))
    stray = stray_files(settings)
    if stray:
        print(f"== The landing root ==\nFiles that belong to no municipality: {', '.join(stray)}")
        code = EXIT_FAILED
    return code


def _status_of(settings: Settings) -> int:
    """One warehouse's status (a single install's, or one municipality's of a region)."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from ifo_pipeline.operations import status_report
    from ifo_pipeline.publish import connect_published, migrate_layout

    migrate_layout(settings.warehouse_dir)
    if not settings.warehouse_path.exists():
        print(f"No warehouse at {settings.warehouse_path}: nothing has run yet.")
        return EXIT_FAILED
    try:
        con = duckdb.connect(str(settings.warehouse_path), read_only=True)
        where = f"{settings.warehouse_path}"
    except duckdb.IOException:  # a run holds the working warehouse: read the published copy
        con = connect_published(settings.published_path)
        where = f"{settings.published_path} (a run is in progress; last published state)"
    with closing(con):
        print(f"Warehouse: {where}")
        status = status_report(
            con,
            datetime.now(ZoneInfo(TIMEZONE)).date(),
            settings.ledger_due_day,
            settings.replacement_warning_share,
        )
    print(status.text)
    return EXIT_FAILED if status.attention else 0


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from ifo_pipeline.export import ExportRefused, export_parquet

    if not settings.warehouse_path.exists():
        print(f"No warehouse at {settings.warehouse_path}: run `ifo run` first.", file=sys.stderr)
        return EXIT_FAILED
    try:
        written = export_parquet(settings.warehouse_path, args.directory.resolve())
    except ExportRefused as exc:
        print(f"ifo export: {exc}", file=sys.stderr)
        return EXIT_USAGE
    for table, rows in written.items():
        print(f"{table:<28} {rows:>12,} rows".replace(",", " "))
    print(f"Written to {args.directory.resolve()} (register in Spark: ifo_pipeline.export.spark)")
    return 0


def cmd_sql(args: argparse.Namespace, settings: Settings) -> int:
    """The published marts in SQL: an interactive DuckDB shell, or one query's result."""
    path = settings.published_path
    if not path.exists():
        print(f"No published marts at {path}: run `ifo run` first.", file=sys.stderr)
        return EXIT_FAILED
    if args.query is None:
        shell = Path(sys.executable).parent / "duckdb"  # duckdb-cli, the writer's version
        os.execv(shell, [str(shell), "-readonly", str(path)])
    from ifo_pipeline.publish import connect_published

    with closing(connect_published(path)) as con:
        try:
            relation = con.sql(args.query)
        except duckdb.Error as exc:
            print(f"ifo sql: {exc}", file=sys.stderr)
            return EXIT_FAILED
        if relation is None:  # a statement without a result
            return 0
        if args.format == "csv":
            import csv

            from ifo_pipeline.reporting.workbook import FORMULA_TRIGGERS

            def inert(value: object) -> object:
                # OWASP: a CSV opened in a spreadsheet runs a text that begins like a formula.
                text = isinstance(value, str) and value.startswith(FORMULA_TRIGGERS)
                return "'" + value if text else value

            writer = csv.writer(sys.stdout, delimiter=";", lineterminator="\n")
            writer.writerow(relation.columns)
            writer.writerows([inert(v) for v in row] for row in relation.fetchall())
        elif args.format == "xlsx":
            from openpyxl import Workbook

            from ifo_pipeline.reporting.workbook import put

            workbook = Workbook()
            sheet = workbook.active
            for r, row in enumerate([relation.columns, *relation.fetchall()], start=1):
                for c, value in enumerate(row, start=1):
                    put(sheet, r, c, value)
            sheet.freeze_panes = "A2"
            workbook.save(args.output)
            print(f"Written to {args.output}")
        else:
            relation.show(max_rows=10_000, max_width=10_000)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ifo", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sample = sub.add_parser("sample", help="write the demo's sample exports")
    sample.add_argument(
        "--rows",
        type=positive_int,
        default=60,
        help="ledger rows per unit and month (default 60)",
    )
    sample.add_argument(
        "--region",
        action="store_true",
        help="a region's landing: Tyresö (0138, CSV) and a small second municipality "
        "(0187, its ledger as SIE 4), each in its own folder",
    )
    run = sub.add_parser("run", help="load what has landed, rebuild and publish the marts")
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
        help="do not fetch from Kolada ($KOLADA_BASE_URL); use the last landed fetch",
    )
    run.add_argument(
        "--force",
        action="store_true",
        help="rebuild every model whole and publish, even when nothing is new",
    )
    status = sub.add_parser("status", help="the last runs, what failed and why, what is stale")
    export = sub.add_parser(
        "export", help="write the raw layer as Parquet, for the same dbt project on Spark"
    )
    export.add_argument("--format", choices=("parquet",), default="parquet")
    export.add_argument("directory", type=Path, help="the folder to write (replaced whole)")
    sql = sub.add_parser(
        "sql", help="query the published marts (no query: an interactive DuckDB shell)"
    )
    sql.add_argument("query", nargs="?", help='e.g. "SELECT * FROM marts.rapporter"')
    sql.add_argument("--format", choices=("table", "csv", "xlsx"), default="table")
    sql.add_argument("--output", type=Path, help="the workbook to write, with --format xlsx")
    report = sub.add_parser(
        "report",
        help="the month report: printed as text, or written as HTML, a workbook or a PDF",
    )
    report.add_argument(
        "--month",
        type=one_month,
        metavar="YYYY-MM",
        help="e.g. 2019-03 (default: the latest month with ledger data)",
    )
    report.add_argument(
        "--format",
        choices=REPORT_FORMATS,
        help="text (default) prints it; html, xlsx and pdf write "
        "$IFO_WAREHOUSE_DIR/reports/YYYY-MM.<format> (or --output)",
    )
    report.add_argument("--output", type=Path, help="the file to write instead")
    for command in (status, export, sql, report):
        command.add_argument(
            "--kommun",
            metavar="KOD",
            help="in a region: the municipality (its four-digit code) whose files to use "
            "(ifo sql without it: the region's file, every municipality)",
        )
    return parser


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number above 0")
    return value


def main(argv: list[str] | None = None) -> int:
    stopping.install()  # first: a stop during the slow imports that follow is not lost
    args = build_parser().parse_args(argv)  # a bad argument: argparse says so, exit 2
    try:
        settings = Settings.from_env(dict(os.environ))
    except SettingsError as exc:
        print(f"ifo: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.command == "sql" and args.format == "xlsx" and args.output is None:
        build_parser().error("--format xlsx needs --output FILE.xlsx")
    if getattr(args, "kommun", None):
        from ifo_pipeline.region import municipality_folder

        try:
            settings = municipality_folder(settings, args.kommun)
        except LookupError as exc:
            print(f"ifo {args.command}: {exc.args[0]}", file=sys.stderr)
            return EXIT_USAGE
    elif args.command in ("report", "export") and settings.municipality_codes():
        print(
            f"ifo {args.command}: this installation is a region (municipalities "
            f"{', '.join(settings.municipality_codes())}): name one with --kommun KOD",
            file=sys.stderr,
        )
        return EXIT_USAGE
    handler = {
        "sample": cmd_sample,
        "run": cmd_run,
        "report": cmd_report,
        "status": cmd_status,
        "sql": cmd_sql,
        "export": cmd_export,
    }
    try:
        return handler[args.command](args, settings)
    except SettingsError as exc:  # a setting read when it is needed (a municipality's code)
        print(f"ifo {args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        stop_children()
        print("ifo: stopped.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`ifo report | head`): not a failure of ours. Point stdout at
        # nothing so that the interpreter's final flush does not complain again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():  # expected: another run (or a writer) holds it
            print(
                f"ifo {args.command}: the warehouse {settings.warehouse_dir} is in use by "
                f"another process (one run at a time): {exc}",
                file=sys.stderr,
            )
            return EXIT_FAILED
        return _unexpected(args.command, settings, exc)
    except Exception as exc:  # a defect, not an expected failure: the details go to a file
        if stopping.is_stop(exc):  # a stop reported as a library's own error
            stop_children()
            print("ifo: stopped.", file=sys.stderr)
            return EXIT_INTERRUPTED
        return _unexpected(args.command, settings, exc)


def _unexpected(command: str, settings: Settings, exc: Exception) -> int:
    crash_log = _write_crash_log(settings.warehouse_dir, exc)
    print(
        f"ifo {command} failed unexpectedly: {type(exc).__name__}: {exc}. "
        f"The details are in {crash_log}; please report it.",
        file=sys.stderr,
    )
    return EXIT_FAILED


def _write_crash_log(warehouse_dir: Path, exc: Exception) -> Path:
    path = warehouse_dir / "logs" / "ifo-error.log"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(traceback.format_exception(exc)), encoding="utf-8")
    except OSError:
        path = Path(os.devnull)
    return path


if __name__ == "__main__":
    sys.exit(main())
