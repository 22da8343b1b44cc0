"""Kolada as two assets: the fetch lands raw responses; the load parses the latest landed fetch.

The fetch runs in the `kolada` job (the fetch and what depends on it: the load, the Kolada
marts, publishing). A fetch that fails (after the client's own bounded retries) fails that job
with the URL in the message; the finance job (`ifo_all`) never waits on it and parses the last
complete fetch, and the failed run can be re-executed from the UI. `ifo run --offline` leaves
the fetch out (the demo ships a snapshot).
"""

from contextlib import closing

import dagster as dg

from ifo_pipeline.defs.ingest import validation_metadata
from ifo_pipeline.defs.resources import WarehouseResource
from ifo_pipeline.kolada.client import KoladaClient
from ifo_pipeline.kolada.landing import KoladaConfig, fetch_to_landing, latest_fetch, load_fetch
from ifo_pipeline.store.warehouse import connect
from ifo_pipeline.validation.schemas import SCHEMAS, validate_table

FETCH_KEY = dg.AssetKey(["kolada", "landed_responses"])
VALUES_KEY = dg.AssetKey(["raw", "kolada_values"])


class KoladaFetchConfig(dg.Config):
    timeout_seconds: float = 30.0
    max_attempts: int = 5
    backoff_seconds: float = 2.0
    max_in_flight: int = 4


def kolada_landed_responses(
    config: KoladaFetchConfig, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """Kolada API v3 responses for the KPIs, municipalities and years of kolada.toml, landed
    as raw JSON under $IFO_LANDING_DIR/kolada/."""
    settings = warehouse.settings
    client = KoladaClient(
        settings.kolada_base_url,
        timeout=config.timeout_seconds,
        max_attempts=config.max_attempts,
        backoff_seconds=config.backoff_seconds,
        max_in_flight=config.max_in_flight,
        deadline_seconds=settings.kolada_deadline_seconds,
    )
    fetch_dir = fetch_to_landing(
        client, KoladaConfig.load(settings.landing_dir), settings.landing_dir
    )
    return dg.MaterializeResult(
        metadata={
            "fetch": fetch_dir.name,
            "base_url": settings.kolada_base_url,
            "responses": len(list(fetch_dir.glob("0*.json"))),
        }
    )


@dg.asset(
    key=VALUES_KEY,
    deps=[FETCH_KEY],
    group_name="ingest",
    kinds={"duckdb"},
    check_specs=[dg.AssetCheckSpec("schema_valid", asset=VALUES_KEY, blocking=True)],
    description="The latest complete landed Kolada fetch, parsed into raw.kolada_values "
    "and its metadata tables.",
)
def raw_kolada_values(warehouse: WarehouseResource):
    settings = warehouse.settings
    with closing(connect(settings.warehouse_path)) as con:
        load = load_fetch(con, latest_fetch(settings.landing_dir))
        yield dg.MaterializeResult(
            metadata={
                "fetch": load.fetch,
                "outcome": str(load.outcome),
                "values": load.values,
                "message": load.message,
            }
        )
        validation = validate_table(con, "raw.kolada_values", SCHEMAS["raw.kolada_values"])
        yield dg.AssetCheckResult(
            check_name="schema_valid",
            passed=validation.passed,
            metadata=validation_metadata(validation),
        )


def build_kolada_assets() -> list[dg.AssetsDefinition]:
    """The fetch talks to the outside world, so it runs as its own job (`kolada`): an outage
    fails that job within IFO_KOLADA_DEADLINE_SECONDS and never holds back the finance marts,
    which are built from the last complete landed fetch."""
    fetch = dg.asset(key=FETCH_KEY, group_name="ingest", kinds={"json"})(kolada_landed_responses)
    return [fetch, raw_kolada_values]
