"""Ctrl-C and SIGTERM stop `ifo run`, and a stop is never lost.

Some libraries import or initialise inside a bare `except:`, which swallows the
KeyboardInterrupt a signal raises there. The handler therefore also remembers the request, and
the runner checks it at its safe points (before each Dagster run). While a Dagster run executes,
Dagster's own handlers take over: it ends the step at a safe point and reports the interrupt.
"""

from __future__ import annotations

import signal
from types import FrameType

_stop_requested = False


def _request_stop(signum: int, frame: FrameType | None) -> None:
    global _stop_requested
    _stop_requested = True
    raise KeyboardInterrupt


def install() -> None:
    """SIGINT and SIGTERM (systemd, kill) both stop the run, even when the shell that started
    it in the background told it to ignore SIGINT."""
    signal.signal(signal.SIGINT, _request_stop)
    signal.signal(signal.SIGTERM, _request_stop)


def check() -> None:
    """Raise KeyboardInterrupt if a stop was asked for, even one a library swallowed."""
    if _stop_requested:
        raise KeyboardInterrupt


STOP_ERRORS = ("KeyboardInterrupt", "DagsterExecutionInterruptedError", "InterruptException")


def is_stop(exc: BaseException) -> bool:
    """An error that is really a stop: DuckDB reports a signal that arrived during a query as
    its own error (`InterruptException`, or `RuntimeError: Query interrupted` when the signal
    interrupted Python code it was reading from). Never a verdict on a file."""
    seen: BaseException | None = exc
    while seen is not None:
        if type(seen).__name__ in STOP_ERRORS:
            return True
        if isinstance(seen, RuntimeError) and "interrupted" in str(seen).lower():
            return True
        seen = seen.__cause__ or seen.__context__
    return _stop_requested
