"""Writing a small file whole or not at all, for the pipeline's own records and reports."""

from __future__ import annotations

import os
from pathlib import Path


def write_text_atomically(path: Path, text: str) -> Path:
    """Write `text` (UTF-8) to `path` through a staging file renamed over it: a reader, or the
    next run after a crash, finds the old file or the new one, never half of one. The staging
    file is removed if the write fails; the error is the caller's to handle."""
    staging = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        staging.write_text(text, encoding="utf-8")
        os.replace(staging, path)
    except BaseException:
        staging.unlink(missing_ok=True)
        raise
    return path
