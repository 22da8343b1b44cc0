"""Dagster's SQLite event log, with its connections kept open (dagster.yaml names it).

Dagster's own SQLite event log opens a new engine and connection for every event it stores,
and closing the last connection to a database in WAL mode checkpoints it: two or three file
syncs per event, 5-15 ms on this machine. A night stores about 2,300 of them (a planned event,
a materialisation and a check result per dbt node, mirrored into the index database): 13 s of
a 41 s first run of the sample, and about as much of a month's night. Here each database keeps
a small pool of connections for the life of the process, with `synchronous=NORMAL` (WAL's
setting for this: a commit is durable once the WAL is synced at the next checkpoint; a power
cut may lose the last events, never corrupt the file).

Dagster's watcher (the UI following a live run) reacts to writes to the run's `.db` file; with
open connections the events go to its `-wal` file until a checkpoint, so the watcher here
listens to both.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as db
from dagster import DagsterEventType, EventLogEntry, Field, StringSource

# Dagster has no public path to its SQLite event log: this module is the one place that reaches
# into it, and pyproject.toml pins Dagster exactly (tests/test_dagster_event_log.py runs it).
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    INDEX_SHARD_NAME,
    SqliteEventLogStorage,
    SqliteEventLogStorageWatchdog,
)
from watchdog.events import FileSystemEvent

# As Dagster's own SQLite storage: a writer waits this long for another process's lock.
BUSY_TIMEOUT_SECONDS = 30

# The webserver reads many runs' databases: the least recently used beyond these are closed.
OPEN_DATABASES = 8
# After these a run's database is closed (checkpointed into its `.db`, the WAL file removed).
RUN_ENDED = {
    DagsterEventType.RUN_SUCCESS,
    DagsterEventType.RUN_FAILURE,
    DagsterEventType.RUN_CANCELED,
}


def _synchronous_normal(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute("PRAGMA synchronous=NORMAL")


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """Dagster's SQLite event log (same files, same schema) with pooled connections.

    `base_dir` defaults to `$DAGSTER_HOME/storage`, where Dagster's default keeps it: an
    instance switched to this class reads the runs it already has."""

    def __init__(self, base_dir: str | None = None, inst_data: Any = None):
        if not (base_dir or os.environ.get("DAGSTER_HOME")):
            raise ValueError("PooledSqliteEventLogStorage needs base_dir or DAGSTER_HOME")
        base = base_dir or os.path.join(os.environ["DAGSTER_HOME"], "storage")
        self._engines: OrderedDict[str, db.engine.Engine] = OrderedDict()
        self._engines_lock = threading.Lock()
        self._tables: set[str] = set()
        super().__init__(base, inst_data)
        # A forked child must not use its parent's SQLite connections (SQLite's own rule).
        after_fork = weakref.WeakMethod(self._forget_connections)
        os.register_at_fork(after_in_child=lambda: (forget := after_fork()) and forget())

    def _forget_connections(self) -> None:
        """In a forked child: open connections of its own; the parent's stay the parent's."""
        self._db_lock = threading.Lock()  # a lock held by a parent's thread is never released
        self._engines_lock = threading.Lock()
        for engine in self._engines.values():
            engine.dispose(close=False)
        self._engines.clear()

    @classmethod
    def config_type(cls) -> dict[str, Field]:
        return {"base_dir": Field(StringSource, is_required=False)}

    @classmethod
    def from_config_value(
        cls, inst_data: Any, config_value: dict[str, Any]
    ) -> PooledSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    def _engine(self, shard: str) -> db.engine.Engine:
        with self._engines_lock:
            engine = self._engines.get(shard)
            if engine is not None:
                self._engines.move_to_end(shard)
                return engine
            engine = db.create_engine(
                self.conn_string_for_shard(shard),
                connect_args={"timeout": BUSY_TIMEOUT_SECONDS},
            )
            db.event.listen(engine, "connect", _synchronous_normal)
            self._engines[shard] = engine
            while len(self._engines) > OPEN_DATABASES:
                self._engines.popitem(last=False)[1].dispose()
            return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[db.engine.Connection]:
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def has_table(self, table_name: str) -> bool:
        """Asked twice for every check event, and inside open transactions (so not through
        `_connect`, whose lock is not re-entrant). The default opens a new connection each
        time; a table that exists stays (Dagster's migrations only add them)."""
        if table_name in self._tables:
            return True
        engine = self._engine(INDEX_SHARD_NAME)
        with engine.connect() as conn:
            present = bool(engine.dialect.has_table(conn, table_name))
        if present:
            self._tables.add(table_name)
        return present

    def wipe(self) -> None:
        """Dagster's wipe deletes the runs' files: their connections go first, or a later read
        would find the deleted file's events through them."""
        self._close([shard for shard in list(self._engines) if shard != INDEX_SHARD_NAME])
        super().wipe()

    def store_event(self, event: EventLogEntry) -> None:
        super().store_event(event)
        if event.is_dagster_event and event.dagster_event_type in RUN_ENDED:
            self._close([event.run_id])

    def _close(self, shards: list[str] | None = None) -> None:
        """Close these databases' connections (all: None), which checkpoints their WAL."""
        with self._db_lock, self._engines_lock:
            names = list(self._engines) if shards is None else shards
            engines = [self._engines.pop(name) for name in names if name in self._engines]
        for engine in engines:
            engine.dispose()

    def watch(self, run_id: str, cursor: str | None, callback: Any) -> None:
        if not self._obs:
            from watchdog.observers import Observer

            self._obs = Observer()
            self._obs.start()
        watchdog = _RunWatchdog(self, run_id, callback, cursor)
        self._watchers[run_id][callback] = (
            watchdog,
            self._obs.schedule(watchdog, self._base_dir, recursive=True),
        )

    def dispose(self) -> None:
        self._close()
        super().dispose()


class _RunWatchdog(SqliteEventLogStorageWatchdog):
    """Dagster's watcher of a run's events, told of writes to the run's WAL file too."""

    def __init__(self, storage: PooledSqliteEventLogStorage, run_id: str, callback, cursor):
        super().__init__(storage, run_id, callback, cursor)
        self._patterns = [self._log_path, f"{self._log_path}-wal"]

    def on_modified(self, event: FileSystemEvent) -> None:
        self._process_log()
