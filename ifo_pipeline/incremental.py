"""What a night's dbt build must make again, and what it may leave standing.

The marts are a function of the dbt project and of the sources' contents. So the dbt step keeps,
beside the warehouse, what the marts were last built from: the project's fingerprint and a
fingerprint of each source's rows. Against it:

- a changed project (a model's SQL, a macro, a var in dbt_project.yml; or no basis yet) builds
  everything, the incremental models (marts.huvudbok) with `--full-refresh`: the data cannot
  show a change of the code that computes them. So does a run that asks for it
  (`ifo run --force`, `--months`);
- on the same project, a night builds the tables downstream of the sources whose rows changed,
  and runs their tests. Everything else stands as the last build made it: its inputs are the
  same. An incremental model rebuilds only the months whose ledger rows changed; it finds them
  itself, from the data (see huvudbok.sql).

The basis is written only after a successful build of the whole project: after a failed or a
partial build, the next night compares against the last whole one and so builds again whatever
changed since. A partial build on the same project (the Kolada job's) that built and tested
everything a source feeds updates that source's fingerprint alone: the next night does not build
the Kolada marts again for a fetch the Kolada job has already built them from.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from ifo_pipeline.files import write_text_atomically
from ifo_pipeline.settings import DBT_PROJECT_DIR

PROJECT_FOLDERS = ("models", "macros", "tests", "seeds")
PROJECT_FILES = ("dbt_project.yml", "profiles.yml")


def dbt_project_files(project_dir: Path = DBT_PROJECT_DIR) -> list[Path]:
    """Every file the dbt project's behaviour depends on, in a stable order."""
    files = [project_dir / name for name in PROJECT_FILES]
    for folder in PROJECT_FOLDERS:
        files += [p for p in (project_dir / folder).rglob("*") if p.is_file()]
    return sorted(files)


def project_fingerprint(project_dir: Path = DBT_PROJECT_DIR) -> str:
    """SHA-256 over the project's files, names and contents (not their times: a fresh
    checkout of the same code is the same project)."""
    digest = hashlib.sha256()
    for path in dbt_project_files(project_dir):
        digest.update(path.relative_to(project_dir).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def source_fingerprints(
    con: duckdb.DuckDBPyConnection, relations: Mapping[str, str]
) -> dict[str, str | None]:
    """Per source (its id -> `schema.table`): the row count and the sum of the rows' hashes,
    one scan of each table in one query. Order-free, so a table rewritten with the same rows
    is unchanged; 0.06-0.09 s per million ledger lines. When a source cannot be read, none has
    a fingerprint (None): every one counts as changed."""
    scans = " UNION ALL ".join(
        f"SELECT {i} AS source, count(*) AS n, sum(hash(t)::HUGEINT) AS h FROM {relation} AS t"
        for i, relation in enumerate(relations.values())
    )
    try:
        rows = con.execute(scans).fetchall()
    except duckdb.Error:
        return dict.fromkeys(relations)
    ids = list(relations)
    return {ids[i]: f"{n}:{h or 0}" for i, n, h in rows}


class BuildBasis:
    """What the marts were last built from (see the module's docstring), in one small JSON file
    beside dbt's target folder."""

    def __init__(self, state_file: Path, project_dir: Path = DBT_PROJECT_DIR) -> None:
        self.state_file = state_file
        self.fingerprint = project_fingerprint(project_dir)
        try:
            recorded = json.loads(state_file.read_text())
        except (OSError, ValueError):
            recorded = {}
        self._project = recorded.get("project") if isinstance(recorded, dict) else None
        self._sources = recorded.get("sources", {}) if self._project else {}

    def stale(self) -> bool:
        """The project differs from the last whole build's (or there was none): build it all."""
        return self._project != self.fingerprint

    def changed_sources(self, now: Mapping[str, str | None]) -> set[str]:
        """The sources whose rows differ from what the last whole build read (or are unknown)."""
        return {
            source
            for source, fingerprint in now.items()
            if fingerprint is None or self._sources.get(source) != fingerprint
        }

    def record(self, sources: Mapping[str, str | None]) -> None:
        """After a successful build of the whole project from sources with these fingerprints
        (an unknown one is left out, so the next build counts it as changed)."""
        self._write({k: v for k, v in sources.items() if v is not None})

    def add(self, sources: Mapping[str, str | None]) -> None:
        """After a successful build of part of the same project that built and tested
        everything these sources feed (the Kolada job's): their fingerprints replace the ones
        recorded, the other sources' stay as the last whole build read them."""
        if self.stale():  # only a whole build records a new project
            return
        known = {k: v for k, v in sources.items() if v is not None}
        if any(self._sources.get(k) != v for k, v in known.items()):
            self._write({**self._sources, **known})

    def _write(self, sources: Mapping[str, str]) -> None:
        self._sources = dict(sources)
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomically(
            self.state_file,
            json.dumps(
                {"project": self.fingerprint, "sources": dict(sorted(sources.items()))}, indent=1
            ),
        )


@dataclass(frozen=True)
class Node:
    kind: str  # model, seed, test, ...
    materialized: str | None
    fqn: tuple[str, ...]

    @property
    def selector(self) -> str:
        return "fqn:" + ".".join(self.fqn)


@dataclass(frozen=True)
class SameProjectBuild:
    """A build on the project the last one used: the models and seeds left standing, and what
    dbt is told to leave out."""

    standing: list[str]
    exclude: list[str]
    builds_nothing: bool


@dataclass(frozen=True)
class Lineage:
    """The dbt project's graph, from its manifest: the sources (id -> `schema.table`), the
    nodes, and the nodes each one feeds."""

    sources: dict[str, str]
    nodes: dict[str, Node]
    children: dict[str, frozenset[str]]

    @classmethod
    def from_manifest(cls, manifest: Mapping[str, Any]) -> Lineage:
        children: dict[str, set[str]] = {}
        for uid, node in manifest["nodes"].items():
            for parent in node["depends_on"].get("nodes", []):
                children.setdefault(parent, set()).add(uid)
        return cls(
            sources={
                uid: f"{source['schema']}.{source['identifier']}"
                for uid, source in sorted(manifest["sources"].items())
            },
            nodes={
                uid: Node(n["resource_type"], n["config"].get("materialized"), tuple(n["fqn"]))
                for uid, n in sorted(manifest["nodes"].items())
            },
            children={k: frozenset(v) for k, v in children.items()},
        )

    def downstream(self, roots: Iterable[str]) -> set[str]:
        """Every node built or tested from `roots`, however indirectly."""
        found: set[str] = set()
        pending = list(roots)
        while pending:
            for child in self.children.get(pending.pop(), ()):
                if child not in found:
                    found.add(child)
                    pending.append(child)
        return found

    def fully_built(self, sources: Iterable[str], built: set[str]) -> set[str]:
        """The `sources` every model and test downstream of which is in `built` (the nodes a
        partial build ran successfully): what they feed is as their rows are now."""
        return {source for source in sources if self.downstream([source]) <= built}

    def same_project_build(self, changed_sources: Iterable[str]) -> SameProjectBuild:
        """What a build on the same project makes again: the tables (and incremental models)
        downstream of the changed sources, and every test downstream of them, the tests of
        views included. The views and seeds stand: a view reads the tables as they are now, a
        seed changes only with the project. So does everything else: its inputs are the
        same."""
        affected = self.downstream(changed_sources)
        standing, exclude = [], ["config.materialized:view", "resource_type:seed"]
        builds_nothing = True
        for uid, node in self.nodes.items():
            if node.kind == "seed" or (node.kind == "model" and node.materialized == "view"):
                standing.append(uid)
            elif node.kind in ("model", "test"):
                if uid in affected:
                    builds_nothing = False
                else:
                    exclude.append(node.selector)
                    if node.kind == "model":
                        standing.append(uid)
        return SameProjectBuild(standing, exclude, builds_nothing)
