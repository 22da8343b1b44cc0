"""The municipality's two mappings onto the ledger's columns, read with the loader's CSV rules:
`config/kolumnmappning.csv` (`Exportkolumn;Kolumn`: its own export headers onto the contract's
names) and `config/sie_dimensioner.csv` (`Dimension;Kolumn`: which SIE dimension fills which
ledger column)."""

from __future__ import annotations

import unicodedata
from pathlib import Path

from ifo_pipeline.store.declarations import header_delimiter, normalise_header, split_fields
from ifo_pipeline.store.fileinfo import FileRejected, inspect_file
from ifo_pipeline.store.sources import COLUMN_MAP_FILE, SIE_DIMENSIONS_FILE

# The ledger columns a SIE dimension may fill.
DIMENSION_COLUMNS = ("Ansvar", "Verksamhet", "Aktivitet", "Projekt", "Motpart")


def read_column_map(landing_dir: Path) -> dict[str, str]:
    """The municipality's own export headers -> contract names (`Exportkolumn;Kolumn`), in
    UTF-8 or Windows-1252 like every landed file. Raises FileRejected for an unreadable one
    (the ledger load logs that and goes on without it)."""
    path = landing_dir / COLUMN_MAP_FILE
    if not path.exists() and not path.is_symlink():
        return {}
    return {normalise_header(key): value for key, value, _ in _pairs(path)}


def _pairs(path: Path) -> list[tuple[str, str, int]]:
    """The first two fields of each line after the header, with the line's number."""
    info = inspect_file(path)
    lines = path.read_text(encoding=info.encoding).splitlines()
    delimiter = header_delimiter(lines[0]) if lines else ";"
    pairs = []
    for number, line in enumerate(lines[1:], start=2):
        # The loader's own CSV rules: a quoted name may hold the separator.
        fields = [unicodedata.normalize("NFC", f).strip() for f in split_fields(line, delimiter)]
        if len(fields) >= 2 and fields[0] and fields[1]:
            pairs.append((fields[0], fields[1], number))
    return pairs


def read_sie_dimensions(landing_dir: Path) -> dict[str, str]:
    """SIE dimension -> ledger column (`Dimension;Kolumn`, e.g. `1;Ansvar`, `20;Verksamhet`);
    empty when the file is not there (the loader then uses the standard's meanings). Raises
    FileRejected for an unreadable file or a line that names no ledger column a dimension
    can fill."""
    path = landing_dir / SIE_DIMENSIONS_FILE
    if not path.exists() and not path.is_symlink():
        return {}
    columns = {normalise_header(c): c for c in DIMENSION_COLUMNS}
    mapping: dict[str, str] = {}
    for dimension, column, line in _pairs(path):
        if normalise_header(column) not in columns or not dimension.isdigit():
            raise FileRejected(
                f"Dimension {dimension!r};Kolumn {column!r}: a dimension number and one of "
                f"{', '.join(DIMENSION_COLUMNS)}",
                line,
            )
        mapping[dimension] = columns[normalise_header(column)]
    return mapping


def column_map_or_empty(landing_dir: Path) -> dict[str, str]:
    """The column mapping where only a best effort is wanted (the landing sensor's scan)."""
    try:
        return read_column_map(landing_dir)
    except FileRejected:
        return {}
