"""The Dagster UI, served for real: `dagster-webserver` started on workspace.yaml, asked over
HTTP what its pages show — the schedule, the sensor, the monthly partitioned assets and their
checks (the UI's pages are drawn from this same GraphQL endpoint)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import requests

from tests.conftest import REPO
from tests.network import free_port
from tests.test_dagster_instance import SHIPPED

QUERY = """{
  repositoriesOrError { ... on RepositoryConnection { nodes {
    schedules { name cronSchedule executionTimezone scheduleState { status } }
    sensors { name sensorState { status } } } } }
  assetNodes {
    assetKey { path }
    partitionDefinition { type description }
    assetChecksOrError { ... on AssetChecks { checks { name blocking } } } }
}"""


def wait_for(url: str, process: subprocess.Popen, timeout: float = 240) -> requests.Response:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "dagster-webserver exited"
        try:
            response = requests.get(url, timeout=5)
            if response.ok:
                return response
        except requests.ConnectionError:
            pass
        time.sleep(1)
    raise AssertionError(f"{url} did not answer within {timeout} s")


def test_the_ui_lists_the_schedule_the_sensor_the_partitioned_assets_and_checks(tmp_path):
    port = free_port()
    (tmp_path / "dagster_home").mkdir()
    shutil.copyfile(SHIPPED, tmp_path / "dagster_home" / "dagster.yaml")  # as deployed
    env = {
        **os.environ,
        "IFO_WAREHOUSE_DIR": str(tmp_path / "warehouse"),
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
    }
    webserver = os.path.join(os.path.dirname(sys.executable), "dagster-webserver")
    log = (tmp_path / "webserver.log").open("w")
    process = subprocess.Popen(
        [webserver, "-h", "127.0.0.1", "-p", str(port), "-w", "workspace.yaml"],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{base}/server_info", process)
        assert '<div id="root"' in requests.get(base, timeout=10).text  # the UI's page
        deadline = time.monotonic() + 240
        while True:  # the code location loads in its own process
            data = requests.post(f"{base}/graphql", json={"query": QUERY}, timeout=60).json()
            repositories = data["data"]["repositoriesOrError"].get("nodes")
            if repositories or time.monotonic() > deadline:
                break
            time.sleep(2)
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
    assert repositories, (tmp_path / "webserver.log").read_text()[-3000:]
    [repository] = repositories
    assert [
        (s["name"], s["cronSchedule"], s["executionTimezone"], s["scheduleState"]["status"])
        for s in repository["schedules"]
    ] == [
        ("kolada_nightly", "30 1 * * *", "Europe/Stockholm", "RUNNING"),
        ("nightly", "0 2 * * *", "Europe/Stockholm", "RUNNING"),
    ]
    assert [(s["name"], s["sensorState"]["status"]) for s in repository["sensors"]] == [
        ("landing", "RUNNING")
    ]
    assets = {"/".join(a["assetKey"]["path"]): a for a in data["data"]["assetNodes"]}
    partitioned = {
        key: a["partitionDefinition"]["type"]
        for key, a in assets.items()
        if a["partitionDefinition"]
    }
    assert partitioned == {"raw/ledger_lines": "TIME_WINDOW", "raw/volume_cells": "TIME_WINDOW"}
    assert "Monthly" in assets["raw/ledger_lines"]["partitionDefinition"]["description"]
    ledger_checks = {
        c["name"]: c["blocking"] for c in assets["raw/ledger_lines"]["assetChecksOrError"]["checks"]
    }
    assert ledger_checks == {
        "files_accepted": False,  # a refused file holds back no other
        "rows_accepted": False,
        "schema_valid": True,
        "reconciles_to_the_krona": True,
        "replacements_plausible": False,
        "ledger_fresh": False,
    }
