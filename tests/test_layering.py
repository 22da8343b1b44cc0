"""What may import what (CONTRIBUTING.md, "The layout"): read from the code's own imports, so a
new import across a layer fails here rather than in a maintainer's afternoon."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO

PACKAGE = REPO / "ifo_pipeline"
# Small modules of plain Python that every layer may use.
BASE = {"settings", "files", "privacy", "months", "prefetch", "stopping"}
# Each package or module: the parts of ifo_pipeline it may import besides itself and BASE.
ALLOWED = {
    "store": set(),
    "ingest": {"store", "sie"},
    "sie": set(),
    "kolada": {"store"},
    "validation": {"store"},
    "runs": {"store"},
    "publish": {"store"},
    "incremental": set(),
    "sample": {"store", "kolada", "sie"},  # it writes what those read
    "export": {"store"},
}
# Only these import Dagster: everything below them is plain Python, tested on its own.
DAGSTER_USERS = {"defs", "runner"}


def part_of(path: Path) -> str:
    """The package (or top-level module) a file of ifo_pipeline belongs to."""
    relative = path.relative_to(PACKAGE)
    return relative.parts[0].removesuffix(".py")


def imports(path: Path) -> set[str]:
    """Every module `path` imports, at any depth (a function's lazy import counts too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            if node.module == "ifo_pipeline":  # from ifo_pipeline import stopping
                found |= {f"ifo_pipeline.{alias.name}" for alias in node.names}
    return found


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def test_each_layer_imports_only_what_lies_below_it():
    crossings = []
    for path in modules():
        part = part_of(path)
        if part not in ALLOWED:
            continue
        allowed = ALLOWED[part] | BASE | {part}
        for module in imports(path):
            if module.startswith("ifo_pipeline."):
                target = module.split(".")[1]
                if target not in allowed:
                    crossings.append(f"{path.relative_to(REPO)} imports {module}")
    assert crossings == []


def test_only_the_dagster_definitions_and_the_runner_import_dagster():
    users = {
        str(path.relative_to(REPO))
        for path in modules()
        for module in imports(path)
        if module.split(".")[0] in {"dagster", "dagster_dbt"} and part_of(path) not in DAGSTER_USERS
    }
    assert users == set()


def test_the_layer_rules_cover_every_package():
    """A new package must be placed in the rules (or be one of the orchestrating parts)."""
    orchestrating = {"defs", "runner", "region", "cli", "operations", "reporting", "__init__"}
    parts = {part_of(p) for p in modules()}
    assert parts - set(ALLOWED) - BASE - orchestrating == set()


def test_the_rules_catch_a_crossing(tmp_path):
    """The reader of imports sees a lazy import inside a function, as the rules need."""
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from ifo_pipeline.ingest import load_source\n")
    assert imports(module) == {"ifo_pipeline.ingest"}
