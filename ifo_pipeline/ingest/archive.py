"""The archive: every landed file kept once, masked, as `archive/<folder>/<sha256>/<name>`.

The delivered bytes are streamed once: hashed (the file's identity stays the SHA-256 of what was
delivered), masked for personal identity numbers, and written beside their final name, then
renamed into place. Every load parses this masked copy, never the landed file, so a month
reloaded from the archive later gives exactly the rows of the first load.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from ifo_pipeline.ingest.fileinfo import FileInfo, FileRejected
from ifo_pipeline.privacy import mask_bytes, mask_text

CHUNK = 16 << 20


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
            raise FileRejected(
                "the file changed while it was read: it is probably still being written; "
                "the complete file is loaded by the first run that finds it unchanged"
            )
        os.replace(staging, target)
    finally:
        staging.unlink(missing_ok=True)
    return Archived(target, masked)


def _masked_text(source: Path, staging: Path) -> tuple[str, str]:
    """Stream a text file: hash what is read, mask whole lines, hash and write what is kept."""
    delivered, masked = hashlib.sha256(), hashlib.sha256()
    carry = b""
    with source.open("rb") as src, staging.open("wb") as dst:
        while chunk := src.read(CHUNK):
            delivered.update(chunk)
            data = carry + chunk
            # Mask whole lines only (LF, CRLF or CR-only endings): cut after the last break.
            cut = max(data.rfind(b"\n"), data.rfind(b"\r")) + 1
            carry = data[cut:]
            kept = mask_bytes(data[:cut])
            masked.update(kept)
            dst.write(kept)
        kept = mask_bytes(carry)
        masked.update(kept)
        dst.write(kept)
    return delivered.hexdigest(), masked.hexdigest()


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
