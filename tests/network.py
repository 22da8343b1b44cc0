"""Loopback ports for the tests' own servers."""

from __future__ import annotations

import socket
from contextlib import closing


def free_port() -> int:
    """A port of 127.0.0.1 nothing listens on now (the OS's choice)."""
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
