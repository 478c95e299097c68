"""The Host names the dashboard answers to (against DNS rebinding).

A page of another site that a local browser opens can point its own name at this
machine's address and read the dashboard, unless the dashboard refuses Host headers it
does not know. So the check is always on, whatever address `tokenstat serve` binds: the
loopback names, the bound address, this machine's names and addresses (when bound beyond
loopback), and the names the user adds with ``--allow-host``.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable
from contextlib import suppress

from tokenstat.errors import QueryError

LOOPBACK_HOSTS = ["127.0.0.1", "localhost", "[::1]", "::1"]
WILDCARD_BINDS = ("0.0.0.0", "::", "[::]", "")
# a host name, an IPv4 or bracketed IPv6 address, or a *.domain pattern
_HOST_PATTERN = re.compile(r"(\*\.)?[A-Za-z0-9_]([A-Za-z0-9_.-]{0,252})|\[[0-9A-Fa-f:.]+\]")


def is_loopback(host: str) -> bool:
    """Whether the bind address ``host`` reaches this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def is_wildcard(host: str) -> bool:
    """Whether the bind address ``host`` is every address of the machine."""
    return host.strip() in WILDCARD_BINDS


def machine_names() -> list[str]:
    """This machine's host names and the addresses they resolve to (no network needed:
    what the resolver knows locally; a lookup that fails adds nothing)."""
    names: list[str] = []
    hostname = socket.gethostname()
    names.append(hostname)
    with suppress(OSError):
        names.append(socket.getfqdn())
    with suppress(OSError):
        primary, aliases, addresses = socket.gethostbyname_ex(hostname)
        names += [primary, *aliases, *addresses]
    with suppress(OSError):
        names += [str(info[4][0]) for info in socket.getaddrinfo(hostname, None)]
    return names


def _host_forms(name: str) -> list[str]:
    """``name`` as a Host header may carry it (IPv6 with and without brackets)."""
    bare = name.strip("[]")
    try:
        if ipaddress.ip_address(bare).version == 6:
            return [f"[{bare}]", bare]
    except ValueError:
        pass
    return [name]


def check_allow_host(name: str) -> str:
    """``name`` (an ``--allow-host`` value) if it is a host name, an address or a
    ``*.domain`` pattern; else a QueryError."""
    if not _HOST_PATTERN.fullmatch(name):
        raise QueryError(
            f"--allow-host {name!r}: not a host name, address or *.domain pattern",
            hint="for example --allow-host dashboard.example.org or --allow-host '*.lan'",
        )
    return name


def allowed_hosts(bind: str, extra: Iterable[str] = ()) -> list[str]:
    """The Host names (lower case, without port) the dashboard accepts when bound to
    ``bind``; ``extra``: the ``--allow-host`` names. Never empty, never ``*``."""
    names = [*LOOPBACK_HOSTS]
    if not is_wildcard(bind):
        names.append(bind)
    if not is_loopback(bind):
        names += machine_names()
    names += [check_allow_host(name) for name in extra]
    seen: dict[str, None] = {}
    for name in names:
        for form in _host_forms(name.strip().lower()):
            if form:
                seen.setdefault(form, None)
    return list(seen)
