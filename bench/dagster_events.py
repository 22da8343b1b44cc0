"""What one Dagster event costs on each storage the project ships, apart from the pipeline.

One run that materialises 61 assets and evaluates 60 checks (about 370 events, the shape of a
dbt step: an output, a materialisation and a check per node), timed on Dagster's in-memory
instance, its default SQLite storage (warehouse/dagster_home/dagster.yaml) and, given a URL,
on PostgreSQL (deploy/postgres/dagster.yaml). The first run of each warms it up; the median of
the rest is printed.

    .venv/bin/python -m bench.dagster_events [--runs 3] [--postgres-url postgresql+psycopg2://…]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import dagster as dg

REPO = Path(__file__).resolve().parent.parent
NODES = 60


def many_nodes() -> dg.AssetsDefinition:
    checks = [dg.AssetCheckSpec(f"check_{i}", asset="node_0") for i in range(NODES)]

    @dg.multi_asset(specs=[dg.AssetSpec(f"node_{i}") for i in range(NODES + 1)], check_specs=checks)
    def nodes():
        for i in range(NODES + 1):
            yield dg.MaterializeResult(asset_key=f"node_{i}")
        for i in range(NODES):
            yield dg.AssetCheckResult(check_name=f"check_{i}", asset_key="node_0", passed=True)

    return nodes


def timed(instance: dg.DagsterInstance, runs: int) -> tuple[float, int]:
    """The median seconds of a run after a warm-up one, and the events of one run."""
    assets = [many_nodes()]
    warm = dg.materialize(assets, instance=instance)
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        dg.materialize(assets, instance=instance)
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds), len(instance.all_logs(warm.run_id))


def on_home(config: Path, runs: int, env: dict[str, str]) -> tuple[float, int]:
    home = Path(tempfile.mkdtemp(prefix="ifo-dagster-events-"))
    try:
        shutil.copyfile(config, home / "dagster.yaml")
        os.environ.update(env)
        with dg.DagsterInstance.from_config(str(home)) as instance:
            return timed(instance, runs)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.dagster_events", description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--postgres-url", default=None)
    args = parser.parse_args(argv)
    storages = {
        "in memory (ephemeral)": lambda: timed(dg.DagsterInstance.ephemeral(), args.runs),
        "SQLite (Dagster's default)": lambda: on_home(
            REPO / "warehouse" / "dagster_home" / "dagster.yaml", args.runs, {}
        ),
    }
    if args.postgres_url:
        storages["PostgreSQL (dagster-postgres)"] = lambda: on_home(
            REPO / "deploy" / "postgres" / "dagster.yaml",
            args.runs,
            {"IFO_DAGSTER_POSTGRES_URL": args.postgres_url},
        )
    print(f"| storage | one run of {NODES + 1} assets and {NODES} checks | events | per event |")
    print("|---|---:|---:|---:|")
    for name, measure in storages.items():
        seconds, events = measure()
        print(f"| {name} | {seconds:.2f} s | {events} | {seconds / events * 1000:.1f} ms |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
