"""The archive: every landed file kept once, masked, as `archive/<folder>/<sha256>/<name>`.

The delivered bytes are streamed once: hashed (the file's identity stays the SHA-256 of what was
delivered), masked for personal identity numbers, and written beside their final name, then
renamed into place. A new landed text file is inspected (`inspect_file`: its encoding, its
lines) in the same read (`inspect_and_archive`). Every load parses this masked copy, never the
landed file, so a month reloaded from the archive later gives exactly the rows of the first
load.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import threading
from collections.abc import Container
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from ifo_pipeline.ingest.fileinfo import FileInfo, FileRejected, inspect_file, written_state
from ifo_pipeline.privacy import mask_bytes, mask_text

CHUNK = 16 << 20
STILL_WRITTEN = (
    "the file changed while it was read: it is probably still being written; "
    "the complete file is loaded by the first run that finds it unchanged"
)


@dataclass(frozen=True)
class Archived:
    path: Path
    sha256: str  # of the masked copy; the delivered file's hash is its identity


def archive_path(archive_dir: Path, folder: str, sha256: str, name: str) -> Path:
    return archive_dir / folder / sha256 / mask_text(name)


def archive_masked(info: FileInfo, folder: str, archive_dir: Path) -> Archived:
    """Write the masked copy of the landed file `info` describes; raises FileRejected when the
    bytes are no longer those that were hashed (a file still being written)."""
    target = archive_path(archive_dir, folder, info.sha256, info.path.name)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        if info.encoding == "binary":
            delivered, masked = _masked_workbook(info.path, staging)
        else:
            delivered, masked = _masked_text(info.path, staging)
        if delivered != info.sha256:
            raise FileRejected(STILL_WRITTEN)
        os.replace(staging, target)
    finally:
        staging.unlink(missing_ok=True)
    return Archived(target, masked)


def inspect_and_archive(
    path: Path, folder: str, archive_dir: Path, seen: Container[str] = ()
) -> tuple[FileInfo, Archived | FileRejected | None]:
    """`inspect_file` and the masked archive copy of a landed text file, in one read of it.

    The copy is not kept when the file's SHA-256 is in `seen` (its bytes were archived before):
    None. An error writing the copy (a full disk) does not stop the inspection: the refusal it
    makes is returned in the copy's place, for the load to raise. Raises what `inspect_file`
    raises."""
    # Named by the process and thread: the file's hash, and so its folder, is known at the end.
    staging = archive_dir / folder / f".incoming.{os.getpid()}.{threading.get_ident()}.tmp"
    try:
        before = written_state(path)
        with MaskedCopy(staging) as copy:
            info = inspect_file(path, sink=copy.write)
        if written_state(path) != before:  # what was read may be a part of what is being written
            exc = FileRejected(STILL_WRITTEN)
            exc.sha256, exc.size_bytes = info.sha256, info.size_bytes
            raise exc
        if info.sha256 in seen:
            return info, None
        if copy.error is not None:
            return info, _not_archived(copy.error)
        try:
            target = archive_path(archive_dir, folder, info.sha256, path.name)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging, target)
        except OSError as exc:
            return info, _not_archived(exc)
        return info, Archived(target, copy.sha256)
    finally:
        staging.unlink(missing_ok=True)


def remove_staging_left(archive_dir: Path, folder: str) -> None:
    """Remove the staging copies a stopped run left in `folder`'s archive (killed while it
    copied a file: up to a whole yearly file each). Call with the warehouse open for writing:
    its lock keeps every other process's load out, so none of them is being written."""
    for stale in (archive_dir / folder).rglob(".*.tmp"):
        stale.unlink(missing_ok=True)


def _not_archived(exc: Exception) -> FileRejected:
    return FileRejected(f"the archive cannot take the file ({type(exc).__name__}: {exc})")


class MaskedCopy:
    """Writes the bytes it is given to `path` masked (`mask_bytes`, on whole lines), and hashes
    what it writes. Lines are masked many megabytes at a time: Arrow's kernels cost per call.
    An error opening or writing the file is kept in `error`, not raised: the reader goes on."""

    def __init__(self, path: Path) -> None:
        self._masked = hashlib.sha256()
        self._pending: list[bytes] = []
        self._pending_size = 0
        self.error: Exception | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file: io.BufferedWriter | None = path.open("wb")
        except OSError as exc:
            self._file, self.error = None, exc

    @property
    def sha256(self) -> str:
        return self._masked.hexdigest()

    def write(self, chunk: bytes) -> None:
        self._pending.append(chunk)
        self._pending_size += len(chunk)
        if self._pending_size >= CHUNK:
            self._flush(final=False)

    def _flush(self, final: bool) -> None:
        data = b"".join(self._pending)
        # Mask whole lines only (LF, CRLF or CR-only endings): cut after the last break.
        cut = len(data) if final else max(data.rfind(b"\n"), data.rfind(b"\r")) + 1
        carry = data[cut:]
        self._pending, self._pending_size = ([carry], len(carry)) if carry else ([], 0)
        kept = mask_bytes(data[:cut])
        self._masked.update(kept)
        if self._file is not None and self.error is None:
            try:
                self._file.write(kept)
            except OSError as exc:
                self.error = exc

    def __enter__(self) -> MaskedCopy:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            if exc_type is None:
                self._flush(final=True)
        finally:
            if self._file is not None:
                try:
                    self._file.close()
                except OSError as close_error:  # the last bytes did not reach the disk
                    self.error = self.error or close_error


def _masked_text(source: Path, staging: Path) -> tuple[str, str]:
    """Stream a text file: hash what is read, mask whole lines, hash and write what is kept."""
    with MaskedCopy(staging) as copy:
        delivered = inspect_file(source, text=False, sink=copy.write).sha256
    if copy.error is not None:
        raise copy.error
    return delivered, copy.sha256


def _masked_workbook(source: Path, staging: Path) -> tuple[str, str]:
    """An XLSX is a zip: its cells are masked through openpyxl (values kept, formulas as their
    computed values, which is what the loader reads). A workbook with nothing to mask is
    archived byte for byte."""
    raw = source.read_bytes()
    delivered = hashlib.sha256(raw).hexdigest()
    data = raw
    try:
        from openpyxl import load_workbook

        workbook = load_workbook(io.BytesIO(raw), data_only=True)
    except Exception:  # not a workbook: the loader refuses it; archive the masked bytes
        data = mask_bytes(raw)
    else:
        changed = False
        for sheet in workbook.worksheets:
            if mask_text(sheet.title) != sheet.title:
                sheet.title, changed = mask_text(sheet.title)[:31], True
            for row in sheet.iter_rows():
                for cell in row:
                    if isinstance(cell.value, str) and mask_text(cell.value) != cell.value:
                        cell.value, changed = mask_text(cell.value), True
                    elif isinstance(cell.value, int) and mask_text(str(cell.value)) != str(
                        cell.value
                    ):  # a personnummer typed as a number
                        cell.value, changed = mask_text(str(cell.value)), True
        if changed:
            buffer = io.BytesIO()
            workbook.save(buffer)
            data = buffer.getvalue()
    staging.write_bytes(data)
    return delivered, hashlib.sha256(data).hexdigest()


def mask_in_place(path: Path) -> str:
    """Mask an archived copy written before the archive was masked; returns its new hash."""
    staging = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    masker = _masked_workbook if path.suffix.lower() == ".xlsx" else _masked_text
    _, masked = masker(path, staging)
    shutil.move(staging, path)
    return masked
