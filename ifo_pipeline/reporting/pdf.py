"""The HTML report printed to PDF (A4) by headless Chromium (Debian's `chromium` package).

Chromium is not a Python package: where it is missing the PDF is skipped with a message that
says how to install it, and the HTML and workbook are written all the same.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

CHROMIUM_ENV = "IFO_CHROMIUM"  # the browser binary, when it is not `chromium` on PATH
# Headless and quiet: no sandbox (root in containers), and none of the background calls home
# that a closed network refuses one by one.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
)
TIMEOUT_SECONDS = 120


class PdfUnavailable(RuntimeError):
    """No browser to print with, or it failed: the reason, for the user."""


def find_chromium() -> str | None:
    configured = os.environ.get(CHROMIUM_ENV)
    if configured:
        return configured if shutil.which(configured) else None
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def chromium_command(browser: str, profile: str, *args: str) -> list[str]:
    """A headless Chromium invocation with its own empty profile (`profile`, a directory)."""
    return [browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args]


def write_pdf(html_path: Path, pdf_path: Path) -> Path:
    browser = find_chromium()
    if browser is None:
        raise PdfUnavailable(
            "no Chromium to print the PDF with: install Debian's `chromium` package "
            f"(apt-get install chromium) or set {CHROMIUM_ENV} to a Chromium binary"
        )
    pdf_path.parent.mkdir(parents=True, exist_ok=True)
    staging = pdf_path.with_name(f".{pdf_path.name}.{os.getpid()}.tmp")
    with tempfile.TemporaryDirectory(prefix="ifo-chromium-") as profile:
        command = chromium_command(
            browser,
            profile,
            "--no-pdf-header-footer",
            f"--print-to-pdf={staging}",
            html_path.resolve().as_uri(),
        )
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired as exc:
            staging.unlink(missing_ok=True)
            raise PdfUnavailable(f"Chromium did not finish within {TIMEOUT_SECONDS} s") from exc
    if done.returncode != 0 or not staging.is_file() or staging.stat().st_size == 0:
        staging.unlink(missing_ok=True)
        raise PdfUnavailable(
            f"Chromium could not print {html_path.name} (exit {done.returncode}): "
            + (done.stderr.strip().splitlines() or ["no output"])[-1]
        )
    os.replace(staging, pdf_path)
    return pdf_path
