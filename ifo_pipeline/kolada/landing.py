"""Kolada responses are landed as raw JSON before anything is parsed, so a load can be
replayed and audited; the warehouse tables are parsed from the landed files only.

A fetch writes into `kolada/<fetch>.partial/` and is renamed to `kolada/<fetch>/` once every
response is in: a fetch that fails half-way leaves no complete fetch behind, and the tables
keep what the last complete one said.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from ifo_pipeline.kolada.client import PAGE_MODELS, KoladaClient, Response, iter_data_rows
from ifo_pipeline.store.ops_log import LoadLogEntry, Outcome, write_load_log
from ifo_pipeline.store.warehouse import transaction

DEFAULT_CONFIG = Path(__file__).with_name("kolada.toml")
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class KoladaConfig:
    """What to fetch: configuration, not code (kolada.toml)."""

    kpis: tuple[str, ...]
    home_municipality: str
    comparison_groups: tuple[str, ...]
    years: tuple[int, ...]
    country: str = "0000"
    extra_municipalities: tuple[str, ...] = field(default_factory=tuple)

    @classmethod
    def load(cls, landing_dir: Path | None = None) -> KoladaConfig:
        """The landing area's config/kolada.toml if there is one, else the shipped default."""
        override = landing_dir / "config" / "kolada.toml" if landing_dir else None
        path = override if override and override.exists() else DEFAULT_CONFIG
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        return cls(
            kpis=tuple(raw["kpis"]),
            home_municipality=raw["home_municipality"],
            comparison_groups=tuple(raw["comparison_groups"]),
            years=tuple(int(y) for y in raw["years"]),
            country=raw.get("country", "0000"),
            extra_municipalities=tuple(raw.get("extra_municipalities", [])),
        )


def fetch_to_landing(
    client: KoladaClient, config: KoladaConfig, landing_dir: Path, now: datetime | None = None
) -> Path:
    """Fetch everything the config names and land it; returns the complete fetch folder."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    final = landing_dir / "kolada" / f"fetch_{stamp}"
    partial = final.with_name(final.name + ".partial")
    # A fetch killed before it could clean up left its folder behind: never a complete fetch.
    for stale in final.parent.glob("*.partial"):
        shutil.rmtree(stale, ignore_errors=True)
    responses: list[tuple[str, Response]] = []

    # Everything is fetched before anything is written: an outage or an interrupt leaves
    # nothing behind.
    groups = client.metadata("municipality_groups", config.comparison_groups)
    responses += [("municipality_groups", r) for r in groups]
    members = [m["member_id"] for r in groups for g in r.payload["values"] for m in g["members"]]
    places = [config.home_municipality, *members, config.country, *config.extra_municipalities]
    responses += [("municipality", r) for r in client.metadata("municipality", places)]
    responses += [("kpi", r) for r in client.metadata("kpi", config.kpis)]
    responses += [
        ("data", r)
        for r in client.data(config.kpis, [*places, *config.comparison_groups], config.years)
    ]

    partial.mkdir(parents=True)
    try:
        manifest = []
        for index, (kind, response) in enumerate(responses, start=1):
            name = f"{index:04d}_{kind}.json"
            (partial / name).write_bytes(response.body)
            manifest.append(
                {
                    "file": name,
                    "kind": kind,
                    "url": response.url,
                    "fetched_at": datetime.fromtimestamp(response.fetched_at, UTC).isoformat(),
                    "sha256": hashlib.sha256(response.body).hexdigest(),
                }
            )
        (partial / MANIFEST).write_text(
            json.dumps({"config": config.__dict__, "responses": manifest}, indent=1, default=list),
            encoding="utf-8",
        )
        partial.rename(final)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return final


def fetch_identity(fetch_dir: Path) -> str:
    """A landed fetch is identified by its manifest's SHA-256 (as ops.load_log logs it)."""
    return hashlib.sha256((fetch_dir / MANIFEST).read_bytes()).hexdigest()


def latest_fetch(landing_dir: Path) -> Path | None:
    folder = landing_dir / "kolada"
    if not folder.is_dir():
        return None
    complete = sorted(
        p
        for p in folder.iterdir()
        if p.is_dir() and not p.name.endswith(".partial") and (p / MANIFEST).exists()
    )
    return complete[-1] if complete else None


VALUE_SCHEMA = pa.schema(
    [
        ("kpi", pa.string()),
        ("municipality", pa.string()),
        ("period", pa.int32()),
        ("gender", pa.string()),
        ("value", pa.float64()),
        ("count", pa.int64()),
        ("status", pa.string()),
        ("isdeleted", pa.bool_()),
        ("source_file", pa.string()),
    ]
)


@dataclass
class KoladaLoad:
    fetch: str
    outcome: str  # loaded | already_loaded | no_fetch
    values: int = 0
    message: str = ""


def load_fetch(con: duckdb.DuckDBPyConnection, fetch_dir: Path | None) -> KoladaLoad:
    """Parse a complete landed fetch into raw.kolada_*; the same fetch twice is a no-op."""
    if fetch_dir is None:
        return KoladaLoad("", "no_fetch", message="no Kolada fetch landed yet")
    manifest_bytes = (fetch_dir / MANIFEST).read_bytes()
    fetch_id = fetch_identity(fetch_dir)
    if con.execute("SELECT 1 FROM ops.load_log WHERE file_sha256 = ?", [fetch_id]).fetchone():
        return KoladaLoad(fetch_dir.name, Outcome.ALREADY_LOADED)
    manifest = json.loads(manifest_bytes)
    values, municipalities, members, kpis = [], [], [], []
    for entry in manifest["responses"]:
        body = (fetch_dir / entry["file"]).read_bytes()
        if hashlib.sha256(body).hexdigest() != entry["sha256"]:
            raise ValueError(
                f"{fetch_dir.name}/{entry['file']}: the landed file does not "
                "match the hash recorded when it was fetched"
            )
        payload = json.loads(body)
        PAGE_MODELS[entry["kind"]].model_validate(payload)
        if entry["kind"] == "data":
            values += [{**row, "source_file": entry["file"]} for row in iter_data_rows(payload)]
        elif entry["kind"] == "municipality":
            municipalities += [(m["id"], m["title"], m["type"]) for m in payload["values"]]
        elif entry["kind"] == "municipality_groups":
            members += [
                (g["id"], g["title"], m["member_id"], m["member_title"])
                for g in payload["values"]
                for m in g["members"]
            ]
        else:
            kpis += [
                (k["id"], k["title"], k.get("publ_period"), k.get("prel_publication_date"))
                for k in payload["values"]
            ]
    config = manifest["config"]
    con.register("incoming_values", pa.Table.from_pylist(values, schema=VALUE_SCHEMA))
    try:
        with transaction(con):
            for table in (
                "kolada_values",
                "kolada_municipalities",
                "kolada_group_members",
                "kolada_kpis",
                "kolada_config",
            ):
                con.execute(f"DELETE FROM raw.{table}")
            con.execute(
                "INSERT INTO raw.kolada_values SELECT ?, * FROM incoming_values", [fetch_dir.name]
            )
            if municipalities:
                con.executemany(
                    "INSERT INTO raw.kolada_municipalities VALUES (?, ?, ?)",
                    sorted(set(municipalities)),
                )
            if members:
                con.executemany(
                    "INSERT INTO raw.kolada_group_members VALUES (?, ?, ?, ?)", sorted(set(members))
                )
            if kpis:
                con.executemany(
                    "INSERT INTO raw.kolada_kpis VALUES (?, ?, ?, ?)", sorted(set(kpis))
                )
            con.executemany(
                "INSERT INTO raw.kolada_config VALUES (?, ?)",
                [
                    ("home_municipality", config["home_municipality"]),
                    ("country", config["country"]),
                    *(("comparison_group", g) for g in config["comparison_groups"]),
                    *(("year", str(y)) for y in config["years"]),
                ],
            )
            for entry in manifest["responses"]:
                write_load_log(
                    con,
                    LoadLogEntry(
                        file_sha256=entry["sha256"],
                        file_name=f"{fetch_dir.name}/{entry['file']}",
                        source="kolada",
                        outcome=Outcome.LOADED,
                        message=entry["url"],
                        archived_as=str(fetch_dir / entry["file"]),
                        size_bytes=(fetch_dir / entry["file"]).stat().st_size,
                        encoding="utf-8",
                        loaded_at=datetime.fromisoformat(entry["fetched_at"]),
                    ),
                )
            write_load_log(
                con,
                LoadLogEntry(
                    file_sha256=fetch_id,
                    file_name=f"{fetch_dir.name}/{MANIFEST}",
                    source="kolada",
                    outcome=Outcome.LOADED,
                    message=f"{len(manifest['responses'])} responses, {len(values)} values",
                    archived_as=str(fetch_dir),
                    size_bytes=len(manifest_bytes),
                    encoding="utf-8",
                    periods=",".join(str(y) for y in config["years"]),
                    rows_loaded=len(values),
                ),
            )
    finally:
        con.unregister("incoming_values")
    return KoladaLoad(
        fetch_dir.name,
        Outcome.LOADED,
        len(values),
        f"{len(manifest['responses'])} responses, {len(values)} values",
    )
