"""A nightly run that fails (Kolada unreachable) is re-executed from failure through Dagster's
GraphQL API — the call the UI's "Re-execute from failure" makes — once the cause is fixed.

Real parts only: a Dagster instance in a temporary DAGSTER_HOME, the code location loaded from
workspace-style module config in its own process, the default run launcher, a local HTTP
server that is down at first and then replays the landed Kolada snapshot.
"""

from __future__ import annotations

import socket
from contextlib import closing

import dagster as dg
import yaml
from dagster._core.test_utils import poll_for_finished_run
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
from tests.test_kolada_pipeline import FAST_RETRIES, replay_snapshot


def free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_failed_run_is_re_executed_from_failure_via_graphql(tmp_path, monkeypatch):
    port = free_port()  # nothing listens here yet: Kolada is "down"
    warehouse, landing = tmp_path / "warehouse", tmp_path / "landing"
    generate_sample(landing, rows_per_unit_month=5)
    monkeypatch.setenv("IFO_WAREHOUSE_DIR", str(warehouse))
    monkeypatch.setenv("IFO_LANDING_DIR", str(landing))
    monkeypatch.setenv("KOLADA_BASE_URL", f"http://127.0.0.1:{port}/v3")
    monkeypatch.setenv("IFO_KOLADA_STEP_RETRIES", "0")
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
    coordinator = {
        "run_coordinator": {
            "module": "dagster.core.run_coordinator",
            "class": "DefaultRunCoordinator",
        }
    }
    with (
        dg.instance_for_test(
            temp_dir=str(tmp_path / "dagster_home"), overrides=coordinator
        ) as instance,
        define_out_of_process_context(str(workspace), None, instance) as context,
    ):
        selector = infer_job_selector(context, "ifo_all")
        # The sample's months, as a backfill or the landing sensor would ask for them.
        months = {RANGE_START_TAG: "2017-01", RANGE_END_TAG: "2019-03"}
        launched = execute_dagster_graphql(
            context,
            LAUNCH_PIPELINE_EXECUTION_MUTATION,
            {
                "executionParams": {
                    "selector": selector,
                    "runConfigData": FAST_RETRIES,
                    "executionMetadata": {
                        "tags": [{"key": k, "value": v} for k, v in months.items()]
                    },
                }
            },
        )
        assert launched.data["launchPipelineExecution"]["__typename"] == "LaunchRunSuccess", (
            launched.data
        )
        run_id = launched.data["launchPipelineExecution"]["run"]["runId"]
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
        assert not (warehouse / "marts.duckdb").exists()  # nothing published

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
            assert done.tags[RANGE_START_TAG] == "2017-01"
        finally:
            server.stop()
        # The months were loaded by the first run (the ledger step succeeded there).
        materialized = instance.get_materialized_partitions(dg.AssetKey(["raw", "ledger_lines"]))
        assert {"2017-01", "2018-06", "2019-03"} <= materialized
        assert "2019-04" not in materialized

    with closing(connect_published(warehouse / "marts.duckdb")) as con:
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
