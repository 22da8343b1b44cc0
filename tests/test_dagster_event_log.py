"""The shipped Dagster instance (warehouse/dagster_home/dagster.yaml): Dagster's SQLite event
log with its connections kept open. Runs are recorded in the same files as Dagster's default,
a live run is followed as it happens (the UI's view of a run), and a finished run's database is
closed."""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
import uuid

import dagster as dg
import pytest
import yaml
from dagster._core.storage.event_log import SqliteEventLogStorage

from ifo_pipeline.defs.event_log import PooledSqliteEventLogStorage
from tests.conftest import REPO

SHIPPED = REPO / "warehouse" / "dagster_home" / "dagster.yaml"


def shipped_event_log() -> dict:
    """The event log of the shipped dagster.yaml, for an instance built in a test."""
    return {"event_log_storage": yaml.safe_load(SHIPPED.read_text())["event_log_storage"]}


@pytest.fixture
def instance(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    shutil.copyfile(SHIPPED, tmp_path / "dagster.yaml")
    with dg.DagsterInstance.get() as instance:
        yield instance


def test_the_shipped_instance_records_runs_in_dagsters_files_and_closes_them(instance, tmp_path):
    assert isinstance(instance.event_log_storage, PooledSqliteEventLogStorage)

    @dg.asset
    def answer() -> int:
        return 42

    @dg.asset_check(asset=answer)
    def answer_is_positive() -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=True)

    result = dg.materialize([answer, answer_is_positive], instance=instance)
    assert result.success
    run_id = result.run_id
    storage = tmp_path / "storage"
    # The ended run's database was closed: checkpointed into its .db, no WAL file left.
    assert (storage / f"{run_id}.db").is_file()
    assert not (storage / f"{run_id}.db-wal").exists()
    # Dagster's own storage reads them back: the run's events, and the asset's in the index.
    types = [e.dagster_event_type for e in instance.all_logs(run_id) if e.is_dagster_event]
    assert dg.DagsterEventType.ASSET_MATERIALIZATION in types
    assert types[-1] == dg.DagsterEventType.RUN_SUCCESS
    assert instance.get_latest_materialization_event(dg.AssetKey("answer")).run_id == run_id
    check = dg.AssetCheckKey(dg.AssetKey("answer"), "answer_is_positive")
    executions = instance.event_log_storage.get_asset_check_execution_history(check, limit=5)
    assert [e.run_id for e in executions] == [run_id]
    # And a second process (the UI, the daemon) reads the same files with Dagster's default.
    default = SqliteEventLogStorage(str(storage))
    assert len(default.get_logs_for_run(run_id)) == len(instance.all_logs(run_id))
    # Wiped (`dagster instance wipe`), the run's events are gone, open connections or not.
    instance.wipe()
    assert instance.all_logs(run_id) == []
    assert dg.materialize([answer], instance=instance).success


def test_a_forked_process_opens_connections_of_its_own(instance):
    """SQLite's rule: a child must not use the connections it inherited from its parent."""

    @dg.asset
    def answer() -> int:
        return 42

    assert dg.materialize([answer], instance=instance).success  # this process's connections
    inherited = dict(instance.event_log_storage._engines)
    assert inherited
    child = os.fork()
    if child == 0:  # the child: new connections, and it records a run of its own
        code = 1
        try:
            fresh = not instance.event_log_storage._engines
            code = 0 if fresh and dg.materialize([answer], instance=instance).success else 1
        finally:
            os._exit(code)
    deadline = time.monotonic() + 120
    while (done := os.waitpid(child, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    if done[0] == 0:
        os.kill(child, signal.SIGKILL)
        pytest.fail("the forked child did not finish")
    assert os.waitstatus_to_exitcode(done[1]) == 0
    assert instance.event_log_storage._engines.keys() >= inherited.keys()  # the parent's stay
    assert dg.materialize([answer], instance=instance).success
    assert len(instance.get_runs()) == 3


def test_a_live_run_is_followed_while_it_runs(instance, tmp_path):
    """The UI follows a run through the event log's watcher. Events now reach the run's WAL
    file, not its .db, until the run ends: the watcher must see them there, while the run is
    still running (the step below waits until its own start has been seen)."""
    run_id = str(uuid.uuid4())
    seen: list[dg.DagsterEventType] = []
    arrived = threading.Event()

    def follow(entry, _cursor) -> None:
        if entry.is_dagster_event:
            seen.append(entry.dagster_event_type)
            if entry.dagster_event_type == dg.DagsterEventType.STEP_START:
                arrived.set()

    reader = PooledSqliteEventLogStorage(str(tmp_path / "storage"))
    reader.watch(run_id, None, follow)
    try:

        @dg.op
        def waits_to_be_seen() -> None:
            if not arrived.wait(timeout=20):
                raise AssertionError("the watcher did not see the step start while it ran")

        @dg.job
        def followed() -> None:
            waits_to_be_seen()

        result = followed.execute_in_process(instance=instance, run_id=run_id)
        assert result.success
        deadline = time.monotonic() + 20
        while dg.DagsterEventType.RUN_SUCCESS not in seen and time.monotonic() < deadline:
            time.sleep(0.05)
        assert dg.DagsterEventType.RUN_SUCCESS in seen
    finally:
        reader.dispose()
