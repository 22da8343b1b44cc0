"""The landing area: which landed files a source has, in the order they load."""

from __future__ import annotations

from pathlib import Path

from ifo_pipeline.store.declarations import LandedSource


def landed_files(landing_dir: Path, source: LandedSource) -> list[Path]:
    """The source's files in landing order: oldest first, so the newest landed wins.

    Everything named like a delivery is listed, a directory or a dangling link too (the load
    refuses it, saying so); editors' lock and temporary files (`~$x.xlsx`, `.x.csv`) are not
    deliveries."""
    folder = landing_dir / source.folder
    if not folder.is_dir():
        return []
    files = {
        p
        for pattern in source.patterns
        for p in folder.glob(pattern)
        if not p.name.startswith(("~$", "."))
    }
    return sorted(files, key=lambda p: (landing_time(p), p.name))


def landing_time(path: Path) -> int:
    """Modification time in ns; the link's own for a dangling link."""
    return path.lstat().st_mtime_ns
