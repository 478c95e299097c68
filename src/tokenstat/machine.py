"""The name of this machine, as rows read from its local logs record it (``machine``)."""

from __future__ import annotations

import os
import socket

MACHINE_ENV = "TOKENSTAT_MACHINE"


def machine_name(given: str | None = None) -> str:
    """``given``, else ``$TOKENSTAT_MACHINE``, else the host name (up to its first dot)."""
    name = (given or os.environ.get(MACHINE_ENV, "")).strip()
    if not name:
        name = socket.gethostname().split(".", 1)[0] or "localhost"
    return name
