"""Kolada unreachable: the finance job publishes regardless; the Kolada job fails on its own
within its deadline and is re-executed from failure through Dagster's GraphQL API — the call the
UI's "Re-execute from failure" makes — once the server is back, ending with fresh Kolada marts.

Real parts only: a Dagster instance on the deployment's storage (deploy/postgres/dagster.yaml,
a real PostgreSQL server), the code location loaded from workspace-style module config in its
own process, the default run launcher, a local HTTP server that is down at first and then
replays the landed Kolada snapshot.
"""

from __future__ import annotations

import time
from contextlib import closing

import dagster as dg
import yaml
from dagster_graphql.client.query import (
    LAUNCH_PIPELINE_EXECUTION_MUTATION,
    LAUNCH_PIPELINE_REEXECUTION_MUTATION,
)
from dagster_graphql.test.utils import (
    define_out_of_process_context,
    execute_dagster_graphql,
    infer_job_selector,
)
from pytest_httpserver import HTTPServer

from ifo_pipeline.defs.partitions import RANGE_END_TAG, RANGE_START_TAG
from ifo_pipeline.publish import connect_published
from ifo_pipeline.sample.generator import generate_sample
from tests.conftest import REPO
from tests.network import free_port
from tests.test_dagster_instance import DEPLOYED_POSTGRES, POSTGRES_URL_ENV
from tests.test_kolada_pipeline import FAST_RETRIES, replay_snapshot


def poll_for_finished_run(
    instance: dg.DagsterInstance, run_id: str, timeout: float
) -> dg.DagsterRun:
    """The run, once it has ended (as the UI sees it: from the instance's run storage)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = instance.get_run_by_id(run_id)
        if run is not None and run.is_finished:
            return run
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} did not end within {timeout} s")


def launch(context, job: str, tags: dict[str, str]) -> str:
    launched = execute_dagster_graphql(
        context,
        LAUNCH_PIPELINE_EXECUTION_MUTATION,
        {
            "executionParams": {
                "selector": infer_job_selector(context, job),
                "runConfigData": FAST_RETRIES if job == "kolada" else {},
                "executionMetadata": {"tags": [{"key": k, "value": v} for k, v in tags.items()]},
            }
        },
    )
    assert launched.data["launchPipelineExecution"]["__typename"] == "LaunchRunSuccess", (
        launched.data
    )
    return launched.data["launchPipelineExecution"]["run"]["runId"]


def test_kolada_fails_alone_and_is_re_executed_from_failure_via_graphql(
    tmp_path, monkeypatch, postgres_url
):
    port = free_port()  # nothing listens here yet: Kolada is "down"
    warehouse, landing = tmp_path / "warehouse", tmp_path / "landing"
    generate_sample(landing, rows_per_unit_month=5)
    monkeypatch.setenv("IFO_WAREHOUSE_DIR", str(warehouse))
    monkeypatch.setenv("IFO_LANDING_DIR", str(landing))
    monkeypatch.setenv("KOLADA_BASE_URL", f"http://127.0.0.1:{port}/v3")
    monkeypatch.setenv("IFO_KOLADA_DEADLINE_SECONDS", "20")
    (tmp_path / "dagster_home").mkdir()
    workspace = tmp_path / "workspace.yaml"
    workspace.write_text(
        yaml.dump(
            {
                "load_from": [
                    {
                        "python_module": {
                            "module_name": "ifo_pipeline.defs",
                            "working_directory": str(REPO),
                        }
                    }
                ]
            }
        )
    )

    # Runs start at once (no daemon in a test), each in its own process like in production.
    # The deployment's storage: the run workers write it, this process follows their runs.
    monkeypatch.setenv(POSTGRES_URL_ENV, postgres_url)
    overrides = {
        "run_coordinator": {
            "module": "dagster.core.run_coordinator",  # as Dagster documents it
            "class": "DefaultRunCoordinator",
        },
        "storage": yaml.safe_load(DEPLOYED_POSTGRES.read_text())["storage"],
    }
    with (
        dg.instance_for_test(
            temp_dir=str(tmp_path / "dagster_home"), overrides=overrides
        ) as instance,
        define_out_of_process_context(str(workspace), None, instance) as context,
    ):
        # The finance job, for the sample's months, as a backfill or the sensor asks for them.
        months = {RANGE_START_TAG: "2017-01", RANGE_END_TAG: "2019-03"}
        finance = launch(context, "ifo_all", months)
        assert poll_for_finished_run(instance, finance, timeout=300).status == (
            dg.DagsterRunStatus.SUCCESS
        )  # Kolada is down, and the finance marts are published all the same
        published = warehouse / "ifo.duckdb"
        kolada_marts = "SELECT * FROM marts.nettokostnadsavvikelse ORDER BY ALL"
        with closing(connect_published(published)) as con:
            before = con.execute(kolada_marts).fetchall()  # from the sample's landed fetch

        run_id = launch(context, "kolada", {})
        failed = poll_for_finished_run(instance, run_id, timeout=300)
        assert failed.status == dg.DagsterRunStatus.FAILURE
        failures = [
            e
            for e in instance.all_logs(run_id)
            if e.dagster_event and e.dagster_event.is_step_failure
        ]
        assert [e.step_key for e in failures] == ["kolada__landed_responses"]
        assert f"127.0.0.1:{port}/v3" in str(
            failures[0].dagster_event.step_failure_data.error.cause
        )
        stats = instance.get_run_stats(run_id)
        assert stats.end_time - stats.start_time < 20 + 30  # the deadline, and start-up
        with closing(connect_published(published)) as con:
            assert con.execute(kolada_marts).fetchall() == before  # the last good fetch stays
        assert not list((landing / "kolada").glob("*.partial"))

        server = HTTPServer(port=port)  # the cause is fixed: Kolada answers again
        server.start()
        try:
            replay_snapshot(server, failures_before_answer=0)
            again = execute_dagster_graphql(
                context,
                LAUNCH_PIPELINE_REEXECUTION_MUTATION,
                {"reexecutionParams": {"parentRunId": run_id, "strategy": "FROM_FAILURE"}},
            )
            result = again.data["launchPipelineReexecution"]
            assert result["__typename"] == "LaunchRunSuccess", again.data
            assert result["run"]["parentRunId"] == run_id
            done = poll_for_finished_run(instance, result["run"]["runId"], timeout=300)
            assert done.status == dg.DagsterRunStatus.SUCCESS
        finally:
            server.stop()
        materialized = instance.get_materialized_partitions(dg.AssetKey(["raw", "ledger_lines"]))
        assert {"2017-01", "2018-06", "2019-03"} <= materialized
        assert "2019-04" not in materialized

    with closing(connect_published(published)) as con:
        fetches = con.execute(
            """SELECT file_name FROM ops.load_log WHERE source = 'kolada'
               AND file_name LIKE '%manifest.json' ORDER BY load_id"""
        ).fetchall()
        # A new fetch was landed, loaded and published after the snapshot's.
        assert len(fetches) == 2 and fetches[0][0].startswith("fetch_20200915")
        runs = dict(con.execute("SELECT job, count(*) FROM ops.runs GROUP BY job").fetchall())
        assert runs == {"ifo_all": 1, "kolada": 2}
    with closing(connect_published(published)) as con:
        assert (
            con.execute("""SELECT avvikelse_pct FROM marts.nettokostnadsavvikelse
            WHERE kommun_id = '0138' AND ar = 2019""").fetchone()[0]
            == 14.4
        )
        assert (
            con.execute("""SELECT round(nettokostnad_ack / 1000) FROM marts.resultatrapport
            WHERE ar = 2019 AND manad = 3 AND rapport = 'IFO' AND radtyp = 'summa'
        """).fetchone()[0]
            == -57799
        )
