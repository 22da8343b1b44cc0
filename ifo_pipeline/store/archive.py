"""The archive: every landed file kept once, masked, as `archive/<folder>/<sha256>/<name>`.

The delivered bytes are streamed once: hashed (the file's identity stays the SHA-256 of what was
delivered), masked for personal identity numbers, and written beside their final name, then
renamed into place. A new landed text file is inspected (`inspect_file`: its encoding, its
lines) in the same read (`inspect_and_archive`). Every load parses this masked copy, never the
landed file, so a month reloaded from the archive later gives exactly the rows of the first
load.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import os
import shutil
import threading
from collections.abc import Container
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from ifo_pipeline.privacy import mask_bytes, mask_text
from ifo_pipeline.store.fileinfo import (
    WIDE_BOMS,
    FileInfo,
    FileRejected,
    inspect_file,
    written_state,
)

CHUNK = 16 << 20
STILL_WRITTEN = (
    "the file changed while it was read: it is probably still being written; "
    "the complete file is loaded by the first run that finds it unchanged"
)


@dataclass(frozen=True)
class Archived:
    path: Path
    sha256: str  # of the masked copy; the delivered file's hash is its identity


# The longest file name most file systems take, in bytes.
NAME_MAX = 255


def archive_path(archive_dir: Path, folder: str, sha256: str, name: str) -> Path:
    return archive_dir / folder / sha256 / archive_name(name)


def archive_name(name: str) -> str:
    """The landed name, masked, within NAME_MAX bytes: a mask is longer than the digits it
    hides, so a name the file system took may not fit once masked. The end (the suffix) is
    kept; the stem loses its tail."""
    masked = mask_text(name)
    if len(masked.encode()) <= NAME_MAX:
        return masked
    suffix = Path(masked).suffix[:16]
    stem = masked[: len(masked) - len(suffix)]
    while len((stem + "~" + suffix).encode()) > NAME_MAX:
        stem = stem[:-1]
    return stem + "~" + suffix


def staging_path(target: Path) -> Path:
    """Where a copy is written before its rename into `target`: named by the writer, not the
    file, so that a name of NAME_MAX bytes still leaves room (`remove_staging_left` finds it)."""
    return target.with_name(f".staging.{os.getpid()}.{threading.get_ident()}.tmp")


def archive_masked(info: FileInfo, folder: str, archive_dir: Path) -> Archived:
    """Write the masked copy of the landed file `info` describes; raises FileRejected when the
    bytes are no longer those that were hashed (a file still being written)."""
    target = archive_path(archive_dir, folder, info.sha256, info.path.name)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = staging_path(target)
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
    A UTF-16 or UTF-32 file (its BOM says so) is decoded, masked as text (`mask_text`) and
    written back in its own encoding and byte order: its digits are not ASCII bytes.
    An error opening or writing the file is kept in `error`, not raised: the reader goes on."""

    def __init__(self, path: Path) -> None:
        self._masked = hashlib.sha256()
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._wide: _WideMasker | None = None
        self._started = False
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
        if not self._started:
            self._started = True
            self._wide = _WideMasker.for_head(chunk)
            if self._wide is not None:
                self._keep(self._wide.bom)
        if self._wide is not None:
            self._keep(self._wide.mask(chunk, final=False))
            return
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
        self._keep(mask_bytes(data[:cut]))

    def _keep(self, kept: bytes) -> None:
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
            if exc_type is None and self._wide is not None:
                self._keep(self._wide.mask(b"", final=True))
            elif exc_type is None:
                self._flush(final=True)
        finally:
            if self._file is not None:
                try:
                    self._file.close()
                except OSError as close_error:  # the last bytes did not reach the disk
                    self.error = self.error or close_error


class _WideMasker:
    """The text of a UTF-16 or UTF-32 file masked on whole lines, in its own byte order. Bytes
    that do not decode are replaced: such a file is refused, and its archived copy need only be
    masked."""

    def __init__(self, bom: bytes, codec: str) -> None:
        self.bom = bom
        little = bom in (codecs.BOM_UTF16_LE, codecs.BOM_UTF32_LE)
        self._decoder = codecs.getincrementaldecoder(codec)("replace")
        self._encoding = f"{codec}-{'le' if little else 'be'}"
        self._carry = ""

    @classmethod
    def for_head(cls, head: bytes) -> _WideMasker | None:
        return next((cls(bom, codec) for bom, codec in WIDE_BOMS if head.startswith(bom)), None)

    def mask(self, chunk: bytes, final: bool) -> bytes:
        text = self._carry + self._decoder.decode(chunk, final)
        cut = len(text) if final else max(text.rfind("\n"), text.rfind("\r")) + 1
        self._carry = text[cut:]
        return mask_text(text[:cut]).encode(self._encoding, errors="surrogatepass")


def _masked_text(source: Path, staging: Path) -> tuple[str, str]:
    """Stream a text file: hash what is read, mask whole lines, hash and write what is kept."""
    with MaskedCopy(staging) as copy:
        delivered = inspect_file(source, text=False, sink=copy.write).sha256
    if copy.error is not None:
        raise copy.error
    return delivered, copy.sha256


def _masked_workbook(source: Path, staging: Path) -> tuple[str, str]:
    """An XLSX is a zip: its cells are masked through openpyxl (values kept, formulas as their
    computed values, which is what the loader reads; a formula never calculated stays a
    formula, for the loader to reject). A workbook with nothing to mask is archived byte for
    byte."""
    raw = source.read_bytes()
    delivered = hashlib.sha256(raw).hexdigest()
    data = raw
    try:
        from openpyxl import load_workbook

        workbook = load_workbook(io.BytesIO(raw), data_only=True)
    except Exception:  # not a workbook: the loader refuses it; archive the masked bytes
        data = mask_bytes(raw)
    else:
        if _mask_cells(workbook):
            _keep_uncalculated(workbook, raw)
            buffer = io.BytesIO()
            workbook.save(buffer)
            data = buffer.getvalue()
    staging.write_bytes(data)
    return delivered, hashlib.sha256(data).hexdigest()


def _mask_cells(workbook) -> bool:
    """Mask every sheet title and text (or whole-number) cell; True if anything changed."""
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
    return changed


def _keep_uncalculated(workbook, raw: bytes) -> None:
    """A formula with no calculated value has no value to keep: it is written back as its
    (masked) formula, so that the copy, like the delivery, shows a cell never calculated."""
    from openpyxl import load_workbook

    formulas = load_workbook(io.BytesIO(raw), data_only=False)
    for sheet, formula_sheet in zip(workbook.worksheets, formulas.worksheets, strict=True):
        for row in formula_sheet.iter_rows():
            for formula in row:
                cell = sheet.cell(formula.row, formula.column)
                if formula.data_type == "f" and cell.value is None:
                    cell.value = mask_text(str(getattr(formula.value, "text", formula.value)))


def mask_in_place(path: Path) -> str:
    """Mask an archived copy written before the archive was masked; returns its new hash."""
    staging = staging_path(path)
    masker = _masked_workbook if path.suffix.lower() == ".xlsx" else _masked_text
    _, masked = masker(path, staging)
    shutil.move(staging, path)
    return masked
