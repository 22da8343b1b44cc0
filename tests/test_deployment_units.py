"""The production services as documented: the two systemd units in deploy/systemd/ (Dagster's
own deployment: `dagster-daemon` and `dagster-webserver`, not `dagster dev`), started here with
their ExecStart and Environment (the install paths swapped for the checkout and a temporary
home), and stopped with SIGTERM, as systemd stops them."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.conftest import REPO
from tests.network import free_port
from tests.test_dagster_instance import SHIPPED
from tests.test_webserver import wait_for

UNITS = REPO / "deploy" / "systemd"
INSTALL, DATA = "/opt/ifo-pipeline", "/srv/ifo"


def unit(name: str, data: Path) -> tuple[list[str], dict[str, str], int]:
    """The unit's command, environment and stop timeout, with its paths on this machine."""
    command, environment, timeout = [], {}, 90
    for line in (UNITS / name).read_text(encoding="utf-8").splitlines():
        key, _, value = line.partition("=")
        value = value.replace(INSTALL, str(REPO)).replace(DATA, str(data))
        if key == "ExecStart":
            command = value.split()
            command[0] = str(Path(sys.executable).parent / Path(command[0]).name)
        elif key == "Environment":
            variable, _, setting = value.partition("=")
            environment[variable] = setting
        elif key == "TimeoutStopSec":
            timeout = int(value)
        elif key == "WorkingDirectory":
            assert value == str(REPO)
    return command, environment, timeout


def start(name: str, data: Path, log: Path) -> tuple[subprocess.Popen, list[str], int]:
    command, environment, timeout = unit(name, data)
    home = Path(environment["DAGSTER_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(SHIPPED, home / "dagster.yaml")  # as the units' comment says
    process = subprocess.Popen(
        command,
        cwd=REPO,
        env={**os.environ, **environment},
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    return process, command, timeout


def stop_with_sigterm(process: subprocess.Popen, timeout: int) -> float:
    """Seconds from SIGTERM to exit; fails past the unit's own TimeoutStopSec."""
    begun = time.monotonic()
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        raise AssertionError(f"did not stop within {timeout} s of SIGTERM") from None
    return time.monotonic() - begun


def test_the_daemon_and_the_webserver_start_from_their_units_and_stop_on_sigterm(tmp_path):
    daemon, command, daemon_timeout = start(
        "ifo-dagster-daemon.service", tmp_path, tmp_path / "daemon.log"
    )
    assert command[1:] == ["run", "-w", "workspace.yaml"]
    port = free_port()
    command, environment, web_timeout = unit("ifo-dagster-webserver.service", tmp_path)
    command[command.index("-p") + 1] = str(port)
    webserver = subprocess.Popen(
        command,
        cwd=REPO,
        env={**os.environ, **environment},
        stdout=(tmp_path / "web.log").open("w"),
        stderr=subprocess.STDOUT,
    )
    try:
        # The webserver answers, and shows the daemon's heartbeat: both are up, on one home.
        wait_for(f"http://127.0.0.1:{port}/server_info", webserver)
        query = "{ instance { daemonHealth { allDaemonStatuses { daemonType healthy } } } }"
        deadline, healthy = time.monotonic() + 180, set()
        while time.monotonic() < deadline and "SENSOR" not in healthy:
            assert daemon.poll() is None, (tmp_path / "daemon.log").read_text()[-3000:]
            answer = requests.post(
                f"http://127.0.0.1:{port}/graphql", json={"query": query}, timeout=30
            ).json()
            statuses = answer["data"]["instance"]["daemonHealth"]["allDaemonStatuses"]
            healthy = {s["daemonType"] for s in statuses if s["healthy"]}
            time.sleep(2)
        assert {"SCHEDULER", "SENSOR"} <= healthy, (tmp_path / "daemon.log").read_text()[-3000:]
    finally:
        daemon_seconds = stop_with_sigterm(daemon, daemon_timeout)
        web_seconds = stop_with_sigterm(webserver, web_timeout)
    assert daemon.returncode is not None and webserver.returncode is not None
    # Within the units' TimeoutStopSec (stop_with_sigterm fails past it); said for the log.
    print(f"stopped on SIGTERM: daemon {daemon_seconds:.1f} s, webserver {web_seconds:.1f} s")
