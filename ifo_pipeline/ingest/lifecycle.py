"""The life of a landed file, shared by every loader (CSV, SIE, volume counts): its identity, the
answer for bytes seen before, its refusal with file, line and reason, its load log entry, and
the archived copy a month is reloaded from. Each loader parses; this decides what a file's
outcome is and writes it (through the ops writers of `store.ops_log`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from ifo_pipeline.months import months_text
from ifo_pipeline.privacy import mask_text
from ifo_pipeline.stopping import is_stop
from ifo_pipeline.store.archive import (
    Archived,
    archive_masked,
    inspect_and_archive,
    mask_in_place,
)
from ifo_pipeline.store.declarations import LandedSource
from ifo_pipeline.store.fileinfo import (
    FileInfo,
    FileRejected,
    file_identity,
    inspect_file,
    known_identity,
)
from ifo_pipeline.store.ops_log import (
    DELIVERED,
    LoadLogEntry,
    Outcome,
    RejectRow,
    write_load_log,
    write_rejects,
)

log = logging.getLogger(__name__)


YEAR_IN_NAME = re.compile(r"(?<![0-9])((?:19|20)[0-9]{2})(?![0-9])")


# A date written into a file name ("2018-11-26 kommunbidrag 2019.csv"): its year is when the
# file was made, not the year it holds.
DATE_IN_NAME = re.compile(
    r"(?<![0-9])(?:19|20)[0-9]{2}([-_. ]?)(?:0[1-9]|1[0-2])\1(?:0[1-9]|[12][0-9]|3[01])(?![0-9])"
)


@dataclass
class FileLoad:
    file_name: str
    sha256: str
    outcome: Outcome
    rows_loaded: int = 0
    rows_rejected: int = 0
    message: str = ""
    periods: list[int] = field(default_factory=list)


@dataclass
class PreparedFile:
    """What a landed file's load needs that reads the file and not the warehouse: its
    identity and its masked archive copy (`prepared_files`). A refusal or an error met on
    the way is kept, to be raised where the load would have met it."""

    path: Path
    # None: loaded before (not read again), or not prepared (the load reads it itself)
    inspected: FileInfo | FileRejected | None = None
    archived: Archived | FileRejected | None = None  # None: not made (bytes seen before)


def prepared_files(
    paths: list[Path], folder: str, archive_dir: Path, loaded: set[str]
) -> Iterator[PreparedFile]:
    """Each file of `paths` inspected and archived in one read of it, in order; `loaded`: the
    SHA-256s already in ops.load_log, whose files are not read. Meant to run one file ahead of
    the loads in a background thread (`prefetch.prefetched`): hashing and masking keep one core
    busy, the parse before them both."""
    seen = set(loaded)
    for path in paths:
        # Hashed before tonight's run (`ifo run` looks for new months first), or here: a file
        # loaded before is not read again, nor masked only to be thrown away.
        if file_identity(path) in seen:
            yield PreparedFile(path)
            continue
        try:
            # The same bytes twice tonight are archived once: the first one's load answers.
            info, archived = inspect_and_archive(path, folder, archive_dir, seen)
        except FileRejected as exc:
            yield PreparedFile(path, exc)
            continue
        except Exception:  # whatever else: the load meets it again, and refuses the file
            log.warning("%s: not prepared ahead", path, exc_info=True)
            yield PreparedFile(path)
            continue
        seen.add(info.sha256)
        yield PreparedFile(path, info, archived)


def outcome_of(
    con: duckdb.DuckDBPyConnection,
    source: LandedSource,
    info: FileInfo,
    archive_dir: Path,
    load: Callable[[], FileLoad],
) -> FileLoad:
    """`load()`'s answer; a refusal it raises, or whatever else the bytes do to a reader,
    becomes the file's refusal with its reason: every file gets an outcome."""
    try:
        return load()
    except FileRejected as exc:
        return reject_file(con, source, info, archive_dir, exc)
    except Exception as exc:
        log.warning("%s: unreadable", info.path, exc_info=True)
        return reject_file(con, source, info, archive_dir, unreadable(exc))


def unreadable(exc: Exception) -> FileRejected:
    """A reader's own error on a file as a refusal that says what it was. A stop (Ctrl-C,
    SIGTERM) that DuckDB reports as its own error is a stop, never a verdict on the file."""
    if is_stop(exc):
        raise KeyboardInterrupt from exc
    first_line = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
    return FileRejected(f"the file cannot be read ({type(exc).__name__}: {first_line})")


def the_year_in(name: str) -> int | None:
    """The one year a file name holds; None when it holds none, several, or a date (then the
    name does not say which year the file is for)."""
    if DATE_IN_NAME.search(name):
        return None
    years = {int(y) for y in YEAR_IN_NAME.findall(name)}
    return years.pop() if len(years) == 1 else None


def newest_holders(
    con: duckdb.DuckDBPyConnection, source: LandedSource, months: list[int]
) -> dict[tuple[str, str | None], list[int]]:
    """(archived file, its hash) -> the months it is the most recently landed file to hold."""
    rows = con.execute(
        """
        WITH delivered AS (
            SELECT load_id, archived_as, archived_sha256, string_split(periods, ',') AS periods
            FROM ops.load_log
            WHERE source = $source AND outcome IN (SELECT unnest($delivered))
        )
        SELECT month, arg_max((archived_as, archived_sha256), load_id)
        FROM (SELECT unnest($months::INTEGER[]) AS month) wanted
        JOIN delivered ON list_contains(delivered.periods, CAST(month AS VARCHAR))
        GROUP BY month ORDER BY month""",
        {"source": source.name, "months": months, "delivered": [str(o) for o in DELIVERED]},
    ).fetchall()
    holders: dict[tuple[str, str | None], list[int]] = {}
    for month, (archived, archived_sha) in rows:
        holders.setdefault((archived, archived_sha), []).append(month)
    return holders


def archived_copy(
    con: duckdb.DuckDBPyConnection, archived: str, archived_sha: str | None, months: list[int]
) -> Archived:
    """The archived file a month is reloaded from; its loss is an error that says so. A copy
    archived before the archive was masked is masked first, once."""
    path = Path(archived)
    if not path.is_file():
        raise FileNotFoundError(
            f"cannot reload {months_text(months)}: the archived copy "
            f"{path} is missing (the archive must be kept)"
        )
    if archived_sha is None:
        archived_sha = mask_in_place(path)
        con.execute(
            "UPDATE ops.load_log SET archived_sha256 = ? WHERE archived_as = ?",
            [archived_sha, archived],
        )
    return Archived(path, archived_sha)


def no_file_for(
    source: LandedSource, months: list[int], holders: dict[object, list[int]]
) -> list[FileLoad]:
    """The months no delivered file holds, as one entry for the run's report."""
    held = {m for ms in holders.values() for m in ms}
    missing = [m for m in months if m not in held]
    if not missing:
        return []
    return [
        FileLoad(
            "",
            "",
            Outcome.NO_FILE,
            message=f"no delivered {source.folder}/ file holds {months_text(missing)}",
            periods=missing,
        )
    ]


def identify_new_file(
    con: duckdb.DuckDBPyConnection,
    source: LandedSource,
    path: Path,
    archive_dir: Path,
    text: bool = True,
    prepared: PreparedFile | None = None,
) -> FileInfo | FileLoad:
    """The file's identity, or already the answer: refused whole, or bytes seen before."""
    known = known_identity(path)  # hashed earlier tonight: loaded files are not read again
    if known is not None and (seen := already_loaded(con, known)):
        return seen
    inspected = prepared.inspected if prepared else None
    try:
        if isinstance(inspected, FileRejected):
            raise inspected
        info = inspected or inspect_file(path, text=text)
    except FileRejected as exc:
        # The archive and the log name a file by its hash; an unreadable file still has one.
        info = FileInfo(path, exc.sha256 or "", exc.size_bytes or 0, "unknown", 0)
        return reject_file(con, source, info, archive_dir, exc)
    return already_loaded(con, info.sha256) or info


def already_loaded(con: duckdb.DuckDBPyConnection, sha256: str) -> FileLoad | None:
    """The no-op answer for bytes seen before (whatever their name), else None."""
    row = con.execute(
        """SELECT file_name, outcome FROM ops.load_log WHERE file_sha256 = ?
                         ORDER BY load_id LIMIT 1""",
        [sha256],
    ).fetchone()
    if row is None:
        return None
    return FileLoad(
        row[0], sha256, Outcome.ALREADY_LOADED, message=f"same bytes as {row[0]}, already {row[1]}"
    )


def log_load(
    con: duckdb.DuckDBPyConnection,
    source: LandedSource,
    info: FileInfo,
    archived: Archived | None,
    outcome: str,
    message: str,
    rows: int = 0,
    rejected: int = 0,
    periods: list[int] | None = None,
) -> None:
    write_load_log(
        con,
        LoadLogEntry(
            file_sha256=info.sha256,
            file_name=mask_text(info.path.name),
            source=source.name,
            outcome=outcome,
            message=message,
            archived_as=str(archived.path) if archived else None,
            archived_sha256=archived.sha256 if archived else None,
            size_bytes=info.size_bytes,
            encoding=info.encoding,
            periods=",".join(map(str, periods or [])) or None,
            rows_loaded=rows,
            rows_rejected=rejected,
        ),
    )


def reject_file(
    con: duckdb.DuckDBPyConnection,
    source: LandedSource,
    info: FileInfo,
    archive_dir: Path,
    exc: FileRejected,
) -> FileLoad:
    """Refuse the file whole: logged, its reason in ops.rejects, its (masked) bytes archived."""
    if seen := already_loaded(con, info.sha256):
        return seen
    archived = None
    if info.size_bytes:
        try:
            archived = archive_masked(info, source.folder, archive_dir)
        except Exception:  # gone, changing, or not to be masked: the log still says why
            log.warning("%s: refused, and not archived", info.path, exc_info=True)
            archived = None
    name = mask_text(info.path.name)
    where = f", line {exc.line}" if exc.line else ""
    message = f"{source.folder}/{name}{where}: {exc.reason}"
    log.warning("refused %s", message)
    log_load(con, source, info, archived, Outcome.REJECTED, message)
    write_rejects(
        con,
        [RejectRow(info.sha256, name, source.name, "file rejected: " + exc.reason, exc.line)],
    )
    return FileLoad(name, info.sha256, Outcome.REJECTED, message=message)
