"""Dagster resources: the warehouse settings, resolved once when the definitions load."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from ifo_pipeline.settings import Settings


class WarehouseResource(dg.ConfigurableResource):
    """Where the working warehouse, the published copy and the landing area are."""

    warehouse_dir: str
    landing_dir: str
    kolada_base_url: str

    @property
    def settings(self) -> Settings:
        return Settings(
            warehouse_dir=Path(self.warehouse_dir),
            landing_dir=Path(self.landing_dir),
            kolada_base_url=self.kolada_base_url,
        )
