#!/usr/bin/env bash
# The main job on the bundled sample: set up, write the sample exports of a region of two
# municipalities (Tyresö's CSV exports, Vaxholm's SIE 4 ledger), run the pipeline, print
# Tyresö's March 2019 result report. No network needed after the install.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export IFO_WAREHOUSE_DIR=${IFO_WAREHOUSE_DIR:-$PWD/warehouse}
export DAGSTER_HOME=${DAGSTER_HOME:-$PWD/warehouse/dagster_home}
.venv/bin/ifo sample --region
.venv/bin/ifo run --offline
.venv/bin/ifo report --kommun 0138 --month 2019-03
