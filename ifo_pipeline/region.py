"""Several municipalities in one installation (docs/municipalities.md, docs/inputs.md §10).

Each municipality is a warehouse of its own: `kommun/<kod>/` holds its working file, its
published `ifo.duckdb`, its masked archive and its month reports, built by the same pipeline
from its own landing folder (`landing/<kod>/`) and nothing else. Confidentiality and failure
isolation follow from that layout rather than from filters: no build reads another
municipality's folder, and a municipality whose run fails keeps its last published file while
the others publish tonight's. The region's `ifo.duckdb` is the union of the municipalities'
published files, written after every run.

No Dagster here: `run_region` calls the runner once per municipality.
"""

from __future__ import annotations

import logging
import tomllib
from dataclasses import dataclass, field

from ifo_pipeline.operations import landing_state
from ifo_pipeline.publish import publish_region
from ifo_pipeline.runner import Interrupted, RunOutcome, run_pipeline
from ifo_pipeline.settings import Settings
from ifo_pipeline.stopping import is_stop

log = logging.getLogger(__name__)


@dataclass
class MunicipalityRun:
    kommunkod: str
    outcome: RunOutcome


@dataclass
class RegionOutcome:
    runs: list[MunicipalityRun]
    published: list[str] = field(default_factory=list)  # the municipalities in the region file
    stray_files: list[str] = field(default_factory=list)  # at the landing root of a region

    @property
    def success(self) -> bool:
        return all(run.outcome.success for run in self.runs) and not self.stray_files

    @property
    def failed(self) -> list[MunicipalityRun]:
        return [run for run in self.runs if not run.outcome.success]


def is_region(settings: Settings) -> bool:
    """A landing area with folders named by municipality codes is a region's."""
    return bool(settings.municipality_codes())


def folder_problem(local: Settings) -> str | None:
    """Why a municipality's folder cannot be run (its own config/kolada.toml must name it),
    or None."""
    config = local.landing_dir / "config" / "kolada.toml"
    where = f"{local.municipality}/config/kolada.toml"
    if not config.is_file():
        return (
            f"{where} is missing: in a region each municipality names itself there "
            f'(home_municipality = "{local.municipality}") with its Kolada comparison groups'
        )
    try:
        home = tomllib.loads(config.read_text(encoding="utf-8")).get("home_municipality")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return f"{where} cannot be read: {exc}"
    if home != local.municipality:
        return (
            f"{where} says home_municipality = {home!r}, not the folder's code "
            f"{local.municipality!r}: the folder's files would be published as another "
            "municipality's"
        )
    return None


def stray_files(settings: Settings) -> list[str]:
    """Files landed at the root of a region's landing area: they belong to no municipality
    (a single-municipality layout beside the municipality folders), so they are left where
    they are, unloaded, and named."""
    return sorted(landing_state(settings.landing_dir))


def run_region(settings: Settings, **options: object) -> RegionOutcome:
    """Run every municipality of the region, one after another, then write the region file.

    A municipality whose folder is refused, whose run fails or crashes is recorded and the
    next one runs; only an interrupt (Ctrl-C, SIGTERM) stops the whole."""
    outcome = RegionOutcome(runs=[], stray_files=stray_files(settings))
    for code in settings.municipality_codes():
        local = settings.for_municipality(code)
        problem = folder_problem(local)
        if problem:
            result = RunOutcome(
                False, "", f"{code}: the folder was refused: {problem}. Nothing of it was loaded."
            )
        else:
            local.warehouse_dir.mkdir(parents=True, exist_ok=True)
            try:
                result = run_pipeline(local, **options)
            except Interrupted:
                raise
            except Exception as exc:  # one municipality's defect never holds back another's
                if is_stop(exc):
                    raise
                log.exception("the run of municipality %s failed unexpectedly", code)
                result = RunOutcome(
                    False,
                    "",
                    f"{code}: the run failed unexpectedly: {type(exc).__name__}: {exc}. Its "
                    f"published file is last night's (the log has the details).",
                )
        outcome.runs.append(MunicipalityRun(code, result))
    published = {
        code: settings.for_municipality(code).published_path
        for code in settings.municipality_codes()
        if settings.for_municipality(code).published_path.exists()
    }
    if published:
        publish_region(published, settings.published_path)
        outcome.published = sorted(published)
    return outcome


def municipality_folder(settings: Settings, code: str) -> Settings:
    """The settings of one municipality of the region, for `ifo report`, `sql`, `status`."""
    if code not in settings.municipality_codes():
        known = ", ".join(settings.municipality_codes()) or "none"
        raise LookupError(
            f"no municipality {code!r} in {settings.landing_dir} (municipality folders: {known})"
        )
    return settings.for_municipality(code)
