#!/usr/bin/env bash
# The whole test suite: set up, lint, then pytest (tests build real warehouses in temp dirs).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# The report's browser test and the PDF need Chromium: Debian's package, not a download; the
# PDF's pages are read back with poppler (pdftotext, pdftoppm).
if ! command -v chromium >/dev/null || ! command -v pdftoppm >/dev/null; then
    SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
    $SUDO apt-get install -y -qq chromium poppler-utils >/dev/null \
        || { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq chromium poppler-utils >/dev/null; }
fi
# Spark 4 (the parity test, `pytest -m spark`) runs on Java 17.
if ! command -v java >/dev/null; then
    SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
    $SUDO apt-get install -y -qq openjdk-17-jre-headless >/dev/null \
        || { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq openjdk-17-jre-headless >/dev/null; }
fi
# Dagster's deployment storage is tested on a real PostgreSQL server (tests/postgres_server.py
# starts its own cluster): Debian's server package.
if ! command -v initdb >/dev/null && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
    $SUDO apt-get install -y -qq postgresql >/dev/null \
        || { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq postgresql >/dev/null; }
fi
# The benchmark's peer (dlt) for its smoke test; pyspark and dbt-spark for the parity test.
.venv/bin/python -m pip install --quiet -e '.[dev,bench,spark]'
.venv/bin/ruff format --check .
.venv/bin/ruff check .
.venv/bin/python -m pytest "$@"
