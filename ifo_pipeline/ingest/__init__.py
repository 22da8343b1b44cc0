"""Ingest: landed files into the warehouse's raw and ops schemas. Plain Python, no Dagster.

A run loads every landed file not loaded before, oldest first, whole. A run for some months
(a Dagster partition range) then makes each of those months that no new file delivered what
the most recently landed file holding it says, re-read from the archive: a single month can be
reloaded or backfilled without a new delivery.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import closing
from pathlib import Path

from ifo_pipeline.ingest.column_map import read_column_map, read_sie_dimensions
from ifo_pipeline.ingest.csv_loader import load_file, reload_months
from ifo_pipeline.ingest.lifecycle import (
    FileLoad,
    already_loaded,
    log_load,
    prepared_files,
    reject_file,
)
from ifo_pipeline.ingest.sie_loader import load_sie_file
from ifo_pipeline.prefetch import prefetched
from ifo_pipeline.settings import Settings
from ifo_pipeline.store.archive import archive_masked, remove_staging_left
from ifo_pipeline.store.declarations import CsvSource, LandedSource
from ifo_pipeline.store.fileinfo import (
    FileInfo,
    FileRejected,
    identities_kept_in,
    inspect_file,
    not_a_file_identity,
)
from ifo_pipeline.store.landing import landed_files, landing_time
from ifo_pipeline.store.ops_log import DELIVERED, Outcome, loaded_hashes
from ifo_pipeline.store.sources import (
    COLUMN_MAP,
    COLUMN_MAP_FILE,
    LEDGER,
    SIE,
    SIE_DIMENSIONS,
    SIE_DIMENSIONS_FILE,
)
from ifo_pipeline.store.warehouse import connect


def load_source(
    settings: Settings, source: CsvSource, months: Sequence[int] | None = None
) -> list[FileLoad]:
    """Load every landed file of `source` not loaded before, oldest first; then reload the
    `months` (YYYYMM) no new file delivered. The ledger's files are its CSV exports and its
    SIE files together, in landing order: the latest landed file holding a period is its
    truth, whichever its format."""
    files = landed_files(settings.landing_dir, source)
    sie_files = landed_files(settings.landing_dir, SIE) if source is LEDGER else []
    with closing(connect(settings.warehouse_path)) as con:
        remove_staging_left(settings.archive_dir, source.folder)
        column_map, refused = _mapping(
            con, settings, COLUMN_MAP, COLUMN_MAP_FILE, read_column_map, "export column(s)"
        )
        dimensions: dict[str, str] = {}
        if sie_files or (source is LEDGER and months is not None):
            remove_staging_left(settings.archive_dir, SIE.folder)
            dimensions, refused_dimensions = _mapping(
                con, settings, SIE_DIMENSIONS, SIE_DIMENSIONS_FILE, read_sie_dimensions,
                "SIE dimension(s)",
            )  # fmt: skip
            refused += refused_dimensions
        # The next file is hashed and archived while this one is parsed. The hashes kept across
        # runs spare a run not started by `ifo run` (the UI, a sensor's) hashing every file.
        upcoming = prepared_files(files, source.folder, settings.archive_dir, loaded_hashes(con))
        with (
            identities_kept_in(settings.file_identities),
            closing(prefetched(upcoming)) as prepared,
        ):
            loads = refused
            for path in sorted([*files, *sie_files], key=lambda p: (landing_time(p), p.name)):
                if path.parent.name == SIE.folder:
                    sie = load_sie_file(con, path, settings.archive_dir, dimensions or None)
                    loads.append(sie)
                    continue
                ready = next(prepared)  # the CSV files, prepared ahead in this same order
                loads.append(
                    load_file(con, source, ready.path, settings.archive_dir, column_map, ready)
                )
        if months is not None:
            delivered = {p for f in loads if f.outcome in DELIVERED for p in f.periods}
            loads += reload_months(
                con,
                source,
                [m for m in months if m not in delivered],
                column_map,
                dimensions or None,
            )
    return loads


def _mapping(
    con,
    settings: Settings,
    source: LandedSource,
    relative: Path,
    read: Callable[[Path], dict[str, str]],
    what: str,
) -> tuple[dict[str, str], list[FileLoad]]:
    """A mapping file of `config/`; an unreadable one is refused (logged once) and not used."""
    path = settings.landing_dir / relative
    try:
        mapping = read(settings.landing_dir)
    except FileRejected as exc:
        info = FileInfo(
            path, exc.sha256 or not_a_file_identity(path), exc.size_bytes or 0, "unknown", 0
        )
        refused = reject_file(con, source, info, settings.archive_dir, exc)
        return {}, [refused] if refused.outcome == Outcome.REJECTED else []
    if mapping:  # which mapping the loads used is on record, once per version of it
        info = inspect_file(path)
        if not already_loaded(con, info.sha256):
            archived = archive_masked(info, source.folder, settings.archive_dir)
            message = f"{len(mapping)} {what} mapped"
            log_load(con, source, info, archived, Outcome.LOADED, message, len(mapping))
    return mapping, []


def load_volumes(settings: Settings, months: Sequence[int] | None = None) -> list[FileLoad]:
    """Load every landed volume file (CSV or XLSX) not loaded before, oldest first; then
    reload the `months` whose year no new file delivered."""
    from ifo_pipeline.ingest.volumes import (
        VOLUMES,
        Catalogue,
        file_year,
        load_volume_file,
        reload_volume_months,
    )

    files = landed_files(settings.landing_dir, VOLUMES)
    catalogue = Catalogue.load()
    with closing(connect(settings.warehouse_path)) as con:
        remove_staging_left(settings.archive_dir, VOLUMES.folder)
        loads = [load_volume_file(con, path, settings.archive_dir, catalogue) for path in files]
        if months is not None:
            years = {file_year(Path(f.file_name)) for f in loads if f.outcome in DELIVERED}
            loads += reload_volume_months(
                con, [m for m in months if m // 100 not in years], catalogue
            )
    return loads
