"""The municipality's column mapping (`config/kolumnmappning.csv`, `Exportkolumn;Kolumn`): its
own export headers onto the contract's names, read with the loader's CSV rules."""

from __future__ import annotations

import unicodedata
from pathlib import Path

from ifo_pipeline.store.declarations import header_delimiter, normalise_header, split_fields
from ifo_pipeline.store.fileinfo import FileRejected, inspect_file
from ifo_pipeline.store.sources import COLUMN_MAP_FILE


def read_column_map(landing_dir: Path) -> dict[str, str]:
    """The municipality's own export headers -> contract names (`Exportkolumn;Kolumn`), in
    UTF-8 or Windows-1252 like every landed file. Raises FileRejected for an unreadable one
    (the ledger load logs that and goes on without it)."""
    path = landing_dir / COLUMN_MAP_FILE
    if not path.exists() and not path.is_symlink():
        return {}
    info = inspect_file(path)
    mapping: dict[str, str] = {}
    lines = path.read_text(encoding=info.encoding).splitlines()
    delimiter = header_delimiter(lines[0]) if lines else ";"
    for line in lines[1:]:
        # The loader's own CSV rules: a quoted name may hold the separator.
        fields = [unicodedata.normalize("NFC", f).strip() for f in split_fields(line, delimiter)]
        if len(fields) >= 2 and fields[0] and fields[1]:
            mapping[normalise_header(fields[0])] = fields[1]
    return mapping


def column_map_or_empty(landing_dir: Path) -> dict[str, str]:
    """The column mapping where only a best effort is wanted (the landing sensor's scan)."""
    try:
        return read_column_map(landing_dir)
    except FileRejected:
        return {}
