"""What may import what (CONTRIBUTING.md, "The layout"): read from the code's own imports, so a
new import across a layer fails here rather than in a maintainer's afternoon."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO

PACKAGE = REPO / "ifo_pipeline"
# Small modules of plain Python that every layer may use.
BASE = {"settings", "files", "privacy", "months", "prefetch", "stopping", "dbt_command"}
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


def private_imports(path: Path) -> set[str]:
    """Modules `path` imports that a library keeps private (a part named `_x`)."""
    return {
        module
        for module in imports(path)
        if any(part.startswith("_") and not part.startswith("__") for part in module.split("."))
    }


def private_overrides(path: Path) -> set[str]:
    """`_x` methods defined in a class built on a Dagster or dbt class: a private member of
    theirs, replaced (the bases are read from the names the module imports from them)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    theirs = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        and (node.module or "").split(".")[0] in {"dagster", "dagster_dbt", "dbt"}
        for alias in node.names
    }
    found = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.ClassDef):
            continue
        bases = {ast.unparse(base) for base in node.bases}
        if not (bases & theirs or any(b.startswith("dg.") for b in bases)):
            continue
        methods = [i for i in node.body if isinstance(i, ast.FunctionDef | ast.AsyncFunctionDef)]
        found |= {
            f"{node.name}.{m.name}"
            for m in methods
            if m.name.startswith("_") and not m.name.startswith("__")
        }
    return found


def test_no_private_module_or_member_of_a_library_is_used():
    """Public APIs only (CONTRIBUTING.md): nothing in the package, the tests, the benchmark or
    the scripts imports a library's private module or replaces a private method of a Dagster
    or dbt class, so a Dagster release within the minor line cannot break a night."""
    files = [
        p for d in ("ifo_pipeline", "tests", "bench", "scripts") for p in (REPO / d).rglob("*.py")
    ]
    found = {
        f"{path.relative_to(REPO)}: {name}"
        for path in files
        if "__pycache__" not in path.parts
        for name in private_imports(path) | private_overrides(path)
    }
    assert found == set()


def test_the_private_rules_catch_both(tmp_path):
    module = tmp_path / "m.py"
    module.write_text(
        "from dagster._core.test_utils import poll_for_finished_run\n"
        "from dagster_dbt import DbtCliResource\n"
        "class R(DbtCliResource):\n"
        "    def _cli_version(self): ...\n"
        "    def __init__(self): ...\n"
        "    def cli(self): ...\n"
    )
    assert private_imports(module) == {"dagster._core.test_utils"}
    assert private_overrides(module) == {"R._cli_version"}
