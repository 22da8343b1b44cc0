"""Ingest: landed files into the warehouse's raw and ops schemas. Plain Python, no Dagster."""

from __future__ import annotations

from contextlib import closing

from ifo_pipeline.ingest.csv_loader import CsvSource, FileLoad, load_file
from ifo_pipeline.ingest.sources import landed_files, read_column_map
from ifo_pipeline.ingest.warehouse import connect
from ifo_pipeline.settings import Settings


def load_source(settings: Settings, source: CsvSource) -> list[FileLoad]:
    """Load every landed file of `source` not loaded before, oldest first."""
    files = landed_files(settings.landing_dir, source)
    column_map = read_column_map(settings.landing_dir)
    with closing(connect(settings.warehouse_path)) as con:
        return [load_file(con, source, path, settings.archive_dir, column_map) for path in files]


def load_volumes(settings: Settings) -> list[FileLoad]:
    """Load every landed volume file (CSV or XLSX) not loaded before, oldest first."""
    from ifo_pipeline.ingest.volumes import VOLUMES, Catalogue, load_volume_file

    files = landed_files(settings.landing_dir, VOLUMES)
    catalogue = Catalogue.load()
    with closing(connect(settings.warehouse_path)) as con:
        return [load_volume_file(con, path, settings.archive_dir, catalogue) for path in files]
