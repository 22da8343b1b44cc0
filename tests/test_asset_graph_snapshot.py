"""The whole asset graph as a reviewed file: keys, dependencies, groups, kinds of partitioning,
checks and jobs. A change to the graph shows in review as a diff of
tests/snapshots/asset_graph.json; an accidental one fails here.

After an intended change:
    UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest tests/test_asset_graph_snapshot.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ifo_pipeline.defs import KOLADA_JOB, NIGHTLY_JOB, build_definitions

SNAPSHOT = Path(__file__).parent / "snapshots" / "asset_graph.json"


def graph_snapshot(defs) -> dict:
    graph = defs.resolve_asset_graph()
    assets = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        assets[key.to_user_string()] = {
            "group": node.group_name,
            "partitioned": type(node.partitions_def).__name__ if node.partitions_def else None,
            "depends_on": sorted(k.to_user_string() for k in node.parent_keys),
            "checks": sorted(c.name for c in graph.asset_check_keys if c.asset_key == key),
        }
    jobs = {
        name: sorted(
            k.to_user_string() for k in defs.resolve_job_def(name).asset_layer.executable_asset_keys
        )
        for name in (NIGHTLY_JOB, KOLADA_JOB)
    }
    return {"assets": assets, "jobs": jobs}


def test_the_asset_graph_matches_its_reviewed_snapshot(settings):
    current = graph_snapshot(build_definitions(settings))
    text = json.dumps(current, indent=1, ensure_ascii=False, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_SNAPSHOTS") or not SNAPSHOT.exists():
        SNAPSHOT.write_text(text, encoding="utf-8")
    assert json.loads(SNAPSHOT.read_text(encoding="utf-8")) == current, (
        "the asset graph changed: review the difference and, if intended, run with "
        "UPDATE_SNAPSHOTS=1"
    )
