#!/usr/bin/env bash
# Create .venv with Python 3.11 and install the project with its test tools. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
if ! "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)'; then
    echo "setup: Python 3.11 is required (found $("$PYTHON" --version 2>&1)); set PYTHON=..." >&2
    exit 1
fi
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[dev]'
# The dbt manifest, once per install: every warehouse starts from a copy (its runs write their
# own target/ and logs under $IFO_WAREHOUSE_DIR/dbt/, never here).
(cd dbt_project && ../.venv/bin/dbt parse --quiet --profiles-dir . --target-path target \
    --log-path "$(mktemp -d)")
