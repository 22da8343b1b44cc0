"""The Dagster instances the project ships, on Dagster's public storage only: the embedded
default (warehouse/dagster_home/dagster.yaml, SQLite files under DAGSTER_HOME) and a
deployment's (deploy/postgres/dagster.yaml, dagster-postgres on a real PostgreSQL server).
Runs are recorded, and read back by another instance on the same storage (the UI, the daemon)."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest
import yaml

from tests.conftest import REPO

SHIPPED = REPO / "warehouse" / "dagster_home" / "dagster.yaml"
DEPLOYED_POSTGRES = REPO / "deploy" / "postgres" / "dagster.yaml"
POSTGRES_URL_ENV = "IFO_DAGSTER_POSTGRES_URL"


@dg.asset
def answer() -> int:
    return 42


@dg.asset_check(asset=answer)
def answer_is_positive() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True)


def records_and_reads_back(home: Path) -> str:
    """Materialise an asset and its check on the instance of `home`; a second instance on
    the same configuration reads the run, its events and the check back. The storage's
    package."""
    with dg.DagsterInstance.from_config(str(home)) as instance:
        result = dg.materialize([answer, answer_is_positive], instance=instance)
        assert result.success
        storage = type(instance.event_log_storage).__module__
    with dg.DagsterInstance.from_config(str(home)) as other:
        run = other.get_run_by_id(result.run_id)
        assert run is not None and run.status == dg.DagsterRunStatus.SUCCESS
        types = [e.dagster_event_type for e in other.all_logs(result.run_id) if e.is_dagster_event]
        assert dg.DagsterEventType.ASSET_MATERIALIZATION in types
        assert dg.DagsterEventType.ASSET_CHECK_EVALUATION in types
        assert types[-1] == dg.DagsterEventType.RUN_SUCCESS
        assert other.get_latest_materialization_event(dg.AssetKey("answer")).run_id == (
            result.run_id
        )
    return storage


def test_the_shipped_instance_is_dagsters_default_sqlite_storage(tmp_path):
    shutil.copyfile(SHIPPED, tmp_path / "dagster.yaml")
    storage = records_and_reads_back(tmp_path)
    assert storage.startswith("dagster.") and "sqlite" in storage
    assert list((tmp_path / "history" / "runs").glob("*.db"))  # the files are under the home


def test_the_deployments_instance_keeps_runs_on_postgresql(tmp_path, monkeypatch, postgres_url):
    shutil.copyfile(DEPLOYED_POSTGRES, tmp_path / "dagster.yaml")
    monkeypatch.setenv(POSTGRES_URL_ENV, postgres_url)
    storage = records_and_reads_back(tmp_path)
    assert storage.startswith("dagster_postgres.")
    assert not list(tmp_path.rglob("*.db"))  # nothing of it on local disk


def test_the_deployments_instance_names_its_missing_setting(tmp_path, monkeypatch):
    """Without the URL, the instance does not start, and says which variable is missing."""
    shutil.copyfile(DEPLOYED_POSTGRES, tmp_path / "dagster.yaml")
    monkeypatch.delenv(POSTGRES_URL_ENV, raising=False)
    with pytest.raises(Exception, match=POSTGRES_URL_ENV):
        dg.DagsterInstance.from_config(str(tmp_path))


def test_an_earlier_releases_event_log_is_moved_where_dagster_reads_it(tmp_path):
    """Earlier releases kept the event log in DAGSTER_HOME/storage/ (Dagster's schema, their
    own class); the shipped instance reads history/runs/. The first run after the upgrade
    moves the files, and the earlier run's events are read back from there."""
    from ifo_pipeline.runner import adopt_earlier_event_log

    earlier = {  # the earlier layout, written by Dagster's own SQLite event log
        "event_log_storage": {
            "module": "dagster.core.storage.event_log",
            "class": "SqliteEventLogStorage",
            "config": {"base_dir": str(tmp_path / "storage")},
        }
    }
    (tmp_path / "dagster.yaml").write_text(yaml.safe_dump(earlier))
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        run_id = dg.materialize([answer], instance=instance).run_id
    shutil.copyfile(SHIPPED, tmp_path / "dagster.yaml")  # the upgrade

    done = adopt_earlier_event_log(tmp_path)
    assert len(done) == 1 and "history/runs" in done[0]
    assert adopt_earlier_event_log(tmp_path) == []  # once
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.SUCCESS
        assert instance.get_latest_materialization_event(dg.AssetKey("answer")).run_id == run_id
        assert any(e.is_dagster_event for e in instance.all_logs(run_id))
        assert dg.materialize([answer], instance=instance).success
    # A home whose default log holds events already is left as it is.
    (tmp_path / "storage").mkdir(exist_ok=True)
    (tmp_path / "storage" / "index.db").write_bytes(b"")
    assert adopt_earlier_event_log(tmp_path) == []
    assert (tmp_path / "storage" / "index.db").exists()


def test_an_instance_that_cannot_load_is_a_setting_to_fix(tmp_path, monkeypatch):
    """The earlier release's dagster.yaml, left in DAGSTER_HOME: `ifo run` says what to copy
    (exit 2), it does not crash."""
    from ifo_pipeline.runner import REMOVED_EVENT_LOG, dagster_instance
    from ifo_pipeline.settings import SettingsError

    module, name = REMOVED_EVENT_LOG, "PooledSqliteEventLogStorage"
    (tmp_path / "dagster.yaml").write_text(
        yaml.safe_dump({"event_log_storage": {"module": module, "class": name}})
    )
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    with pytest.raises(SettingsError, match="copy this release's warehouse/dagster_home"):
        dagster_instance()
