"""The benchmark: the pipeline against DuckDB alone, dlt, and itself, on the same files.

    .venv/bin/python -m bench.run --lines 10000000 --json bench/results.json

Every measured step runs as its own process (as a night runs), timed by the wall clock, with
the peak resident memory of its whole process tree (dbt runs as a child of `ifo run`). Kolada
is served by a local HTTP server from the sample snapshot, so `ifo run` is the real two-job
run with no network. Nothing here asserts a time: the figures go to the JSON and to
bench/RESULTS.md by hand, with the machine they came from.
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import duckdb
import psutil

from bench.generate import corrected_month_file, new_month_file, write_landing

REPO = Path(__file__).resolve().parent.parent
SNAPSHOT = REPO / "ifo_pipeline" / "sample" / "kolada_snapshot"
DAGSTER_YAML = REPO / "warehouse" / "dagster_home" / "dagster.yaml"
IFO = [sys.executable, "-m", "ifo_pipeline.cli"]


@dataclass
class Measure:
    name: str
    seconds: float
    peak_rss_mb: float
    stages: dict[str, float] = field(default_factory=dict)
    detail: str = ""


def measured(name: str, command: list[str], env: dict[str, str]) -> Measure:
    """Run `command`, sampling the memory of its process tree every 20 ms."""
    start = time.perf_counter()
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    peak = 0
    root = psutil.Process(process.pid)
    while process.poll() is None:
        try:
            tree = [root, *root.children(recursive=True)]
            peak = max(peak, sum(_rss(p) for p in tree))
        except psutil.NoSuchProcess:
            pass
        time.sleep(0.02)
    seconds = time.perf_counter() - start
    output = process.stdout.read() if process.stdout else ""
    if process.returncode != 0:
        raise SystemExit(f"bench: {name} failed (exit {process.returncode}):\n{output}")
    return Measure(name, round(seconds, 2), round(peak / 2**20, 1), detail=output.strip()[-400:])


def _rss(process: psutil.Process) -> int:
    try:
        return process.memory_info().rss
    except psutil.Error:
        return 0


class SnapshotServer(http.server.ThreadingHTTPServer):
    """Kolada v3 as the sample snapshot recorded it: the same path and query, another host."""

    def __init__(self, snapshot: Path) -> None:
        manifest = json.loads((snapshot / "manifest.json").read_text(encoding="utf-8"))
        self.bodies = {
            _path_and_query(r["url"]): (snapshot / r["file"]).read_bytes()
            for r in manifest["responses"]
        }
        super().__init__(("127.0.0.1", 0), _SnapshotHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _SnapshotHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (the http.server interface)
        body = self.server.bodies.get(_path_and_query(self.path))
        self.send_response(200 if body else 404)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body or b'{"values": []}')

    def log_message(self, *args) -> None:
        pass


def _path_and_query(url: str) -> str:
    parts = urlsplit(url)
    return parts.path.removeprefix("/v3") + "?" + parts.query


def floor_script(ledger_files: list[Path], structure: Path) -> str:
    """DuckDB alone: read the CSV files into a table, then the one aggregation that gives the
    report (net cost per report line and month, classes 3–7)."""
    reads = " UNION ALL ".join(
        f"SELECT * FROM read_csv('{f}', delim=';', header=true, all_varchar=true, "
        f"encoding='{'latin-1' if _is_legacy(f) else 'utf-8'}')"
        for f in ledger_files
    )
    return f"""
import duckdb
con = duckdb.connect()
con.execute('''CREATE TABLE ledger AS
    SELECT try_cast(Period AS INTEGER) AS period, Ansvar AS ansvar, Konto AS konto,
           try_cast(replace(replace(replace(Belopp, ' ', ''), chr(160), ''), ',', '.')
                    AS DECIMAL(18, 2)) AS belopp
    FROM ({reads}) WHERE Period NOT IN ('', 'Summa', 'Totalt') AND Period IS NOT NULL''')
con.execute('''CREATE TABLE structure AS SELECT * FROM read_csv('{structure}', delim=';',
    header=true, all_varchar=true)''')
rows = con.execute('''SELECT s.Rapportrad, l.period, sum(l.belopp)
    FROM ledger l JOIN structure s ON s.Ansvar = l.ansvar
    WHERE l.konto[1] BETWEEN '3' AND '7' GROUP BY ALL''').fetchall()
print(len(rows), "report cells")
"""


def _is_legacy(path: Path) -> bool:
    return b"\r\n" in path.open("rb").read(4096)


def dlt_script(ledger_files: list[Path], target: Path) -> str:
    """The peer: dlt loading the same files into DuckDB as they are (text columns), streamed
    through Arrow. No Swedish numbers parsed, no checks, no archive: the plain load."""
    return f"""
import dlt, pyarrow as pa, pyarrow.csv as pacsv
files = {[str(f) for f in ledger_files]!r}
legacy = {[_is_legacy(f) for f in ledger_files]!r}

@dlt.resource(name="ledger_lines", write_disposition="append")
def ledger():
    for path, old in zip(files, legacy):
        encoding = "cp1252" if old else "utf-8-sig"
        with open(path, encoding=encoding) as fh:
            header = fh.readline().rstrip("\\r\\n").split(";")
        reader = pacsv.open_csv(path,
            read_options=pacsv.ReadOptions(encoding="cp1252" if old else "utf8",
                                           block_size=16 << 20),
            parse_options=pacsv.ParseOptions(delimiter=";"),
            # Text as delivered: the total row has text where amounts and codes are.
            convert_options=pacsv.ConvertOptions(
                column_types={{name: pa.string() for name in header}},
                strings_can_be_null=True))
        for batch in reader:
            yield batch

pipeline = dlt.pipeline(pipeline_name="bench", destination=dlt.destinations.duckdb(
    {str(target)!r}), pipelines_dir={str(target.parent / "dlt_pipelines")!r})
info = pipeline.run(ledger())
print(info)
"""


def query_latency(published: Path, year: int, repeats: int = 50) -> dict[str, float]:
    """The controllers' query: the March report from the published file, opened read-only."""
    with duckdb.connect(str(published), read_only=True) as con:
        sql = """SELECT rapport, rapportrad, kommunbidrag_ack_tkr, nettokostnad_ack_tkr,
                        nettoresultat_ack_tkr, arsprognos_tkr
                 FROM marts.resultatrapport_tkr WHERE ar = ? AND manad = 3
                 ORDER BY rapport, ordning"""
        rows = len(con.execute(sql, [year]).fetchall())
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            con.execute(sql, [year]).fetchall()
            times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return {
        "rows": rows,
        "median_ms": round(statistics.median(times), 2),
        "p95_ms": round(times[int(len(times) * 0.95) - 1], 2),
    }


def loaded_figures(published: Path) -> dict[str, object]:
    """What the runs left in the published file: every ledger line delivered, every file
    reconciled to the krona (a benchmark of a pipeline that drops rows measures nothing)."""
    with duckdb.connect(str(published), read_only=True) as con:
        lines, rejected = con.execute(
            """SELECT sum(rows_loaded), sum(rows_rejected) FROM ops.load_log
               WHERE source = 'ledger' AND outcome IN ('loaded', 'loaded_with_rejects')"""
        ).fetchone()
        files, balanced = con.execute(
            "SELECT count(*), count(*) FILTER (WHERE balanced) FROM ops.reconciliation"
        ).fetchone()
    return {
        "ledger_lines_loaded": int(lines or 0),
        "ledger_lines_rejected": int(rejected or 0),
        "files_reconciled": files,
        "files_balanced": balanced,
    }


def stage_times(dagster_home: Path, since: float) -> dict[str, float]:
    """Each Dagster step of the runs started after `since` (ingest per source, dbt, publish)."""
    import dagster as dg

    os.environ["DAGSTER_HOME"] = str(dagster_home)
    with dg.DagsterInstance.get() as instance:
        stages: dict[str, float] = {}
        for run in instance.get_runs():
            stats = instance.get_run_stats(run.run_id)
            if not stats.start_time or stats.start_time < since:
                continue
            for step in instance.get_run_step_stats(run.run_id):
                if step.start_time and step.end_time:
                    stages[step.step_key] = round(
                        stages.get(step.step_key, 0) + step.end_time - step.start_time, 2
                    )
    return dict(sorted(stages.items(), key=lambda kv: -kv[1]))


def _commit() -> str | None:
    """The commit measured (with '+' when the work tree had changes)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=REPO,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return None
    return (head + ("+" if dirty else "")) or None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--lines", type=int, default=10_000_000, help="ledger lines in all")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the files here")
    parser.add_argument("--skip-dlt", action="store_true", help="leave the dlt peer out")
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="ifo-bench-"))
    if workdir.exists():
        shutil.rmtree(workdir)
    landing, warehouse, home = workdir / "landing", workdir / "warehouse", workdir / "dagster"
    home.mkdir(parents=True)
    # The shipped instance (Dagster's SQLite storage), as the nightly run uses it.
    shutil.copyfile(DAGSTER_YAML, home / "dagster.yaml")

    start = time.perf_counter()
    data = write_landing(landing, args.lines)
    generated = round(time.perf_counter() - start, 1)
    years = data["years"]
    ledger_files = sorted((landing / "ledger").glob("*.csv"))
    print(
        f"{data['ledger_lines']:,} ledger lines in {len(ledger_files)} files "
        f"({data['ledger_bytes'] / 2**20:.0f} MB), written in {generated} s"
    )

    server = SnapshotServer(SNAPSHOT)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {
        **os.environ,
        "IFO_WAREHOUSE_DIR": str(warehouse),
        "IFO_LANDING_DIR": str(landing),
        "IFO_FIRST_MONTH": f"{years[0]}-01",
        "IFO_LEDGER_DUE_DAY": "0",
        "KOLADA_BASE_URL": server.url + "/v3",
        "DAGSTER_HOME": str(home),
        # The peer sends nothing out either (dlt's anonymous telemetry is on by default).
        "RUNTIME__DLTHUB_TELEMETRY": "false",
    }
    measures: list[Measure] = []

    def step(name: str, command: list[str]) -> Measure:
        since = time.time()
        result = measured(name, command, env)
        if command[: len(IFO)] == IFO:
            result.stages = stage_times(home, since)
        measures.append(result)
        print(f"  {name:<28} {result.seconds:>8.2f} s  {result.peak_rss_mb:>7.0f} MB")
        return result

    script = workdir / "floor.py"
    script.write_text(floor_script(ledger_files, landing / "config" / "rapportstruktur.csv"))
    floor = step("floor (DuckDB alone)", [sys.executable, str(script)])
    full = step("ifo run (empty warehouse)", [*IFO, "run"])
    noop = step("ifo run (nothing new)", [*IFO, "run"])
    per_month = data["ledger_lines"] // (12 * (len(years) - 1) + 3)
    new_month_file(landing, years[-1], 4, per_month)
    new_month = step("ifo run (new month)", [*IFO, "run"])
    corrected_month_file(landing, years[-1], 3, per_month)
    corrected = step("ifo run (corrected month)", [*IFO, "run"])
    dlt = None
    if not args.skip_dlt:
        script = workdir / "dlt_load.py"
        script.write_text(dlt_script(ledger_files, workdir / "dlt.duckdb"))
        dlt = step("dlt (plain load)", [sys.executable, str(script)])
    server.shutdown()
    query = query_latency(warehouse / "ifo.duckdb", years[-1])
    print(
        f"  March report query           {query['median_ms']:>8.2f} ms median, "
        f"{query['p95_ms']:.2f} ms p95 ({query['rows']} rows)"
    )

    loaded = loaded_figures(warehouse / "ifo.duckdb")
    print(f"  loaded: {loaded}")
    ingest = sum(v for k, v in full.stages.items() if k.startswith("raw__"))
    ratios = {
        "pipeline_over_floor": round(full.seconds / floor.seconds, 2),
        "new_month_over_full": round(new_month.seconds / full.seconds, 3),
        "corrected_month_over_full": round(corrected.seconds / full.seconds, 3),
        "ingest_over_dlt": round(ingest / dlt.seconds, 2) if dlt else None,
    }
    for name, value in ratios.items():
        print(f"  {name:<28} {value}")
    report = {
        "commit": _commit(),
        "machine": {
            "cpus": os.cpu_count(),
            "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "duckdb": duckdb.__version__,
        },
        "data": {**data, "generated_seconds": generated},
        "measures": [asdict(m) for m in measures],
        "ingest_stage_seconds": round(ingest, 2),
        "query": query,
        "loaded": loaded,
        "ratios": ratios,
        "noop_seconds": noop.seconds,
    }
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, ensure_ascii=False), encoding="utf-8")
        print(f"figures written to {args.json}")
    if not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
