"""Waiting for a ledger that another process holds.

DuckDB lets one process write a database file (or several read it): opening a file that
another process holds in a conflicting way fails at once with ``Could not set lock on
file "...": Conflicting lock is held in PROGRAM (PID n)``. `connect_waiting` retries such
an open with a short backoff for up to ``$TOKENSTAT_LOCK_TIMEOUT`` seconds (default 60;
``0`` fails at once), announces the wait once through a callback (the CLI prints it on
stderr, the web server logs it), and names the process that holds the file.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import duckdb

from tokenstat.errors import LedgerError

LOCK_TIMEOUT_ENV = "TOKENSTAT_LOCK_TIMEOUT"
DEFAULT_LOCK_TIMEOUT = 60.0  # seconds
# seconds between attempts: the first, the factor, the largest
FIRST_RETRY = 0.05
RETRY_FACTOR = 1.5
LONGEST_RETRY = 0.5
# tokenstat's global options that take a value (skipped when naming a holder's command)
_VALUE_OPTIONS = {"--db", "--catalog"}

_LOCK_MESSAGE = re.compile(
    r"Could not set lock on file.*?Conflicting lock is held in "
    r"(?P<program>.*?) \(PID (?P<pid>\d+)\)",
    re.DOTALL,
)

log = logging.getLogger("tokenstat.ledger")

T = TypeVar("T")


@dataclass(frozen=True)
class LockHolder:
    """The process that holds a ledger file: its PID and a short name (``tokenstat
    import``, ``python3.11``), either unknown when DuckDB's message does not say."""

    pid: int | None
    name: str | None

    def describe(self) -> str:
        """``PID 8199 (tokenstat import)``, or ``another process``."""
        if self.pid is None:
            return "another process"
        return f"PID {self.pid} ({self.name})" if self.name else f"PID {self.pid}"


def lock_holder(error: BaseException) -> LockHolder | None:
    """The holder named by DuckDB's lock error, or None when ``error`` is not one."""
    text = str(error)
    if "Could not set lock on file" not in text:
        return None
    match = _LOCK_MESSAGE.search(text)
    if not match:
        return LockHolder(None, None)
    pid = int(match["pid"])
    return LockHolder(pid, process_name(pid) or Path(match["program"]).name or None)


def process_name(pid: int) -> str | None:
    """A short name for a running process from ``/proc/PID/cmdline``: ``tokenstat
    COMMAND`` for tokenstat (however started), else the program's file name; None when
    the command line cannot be read (another system, another user, the process ended)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    argv = [a for a in raw.decode("utf-8", "replace").split("\0") if a]
    if not argv:
        return None
    names = [Path(a).name for a in argv]
    # .../bin/tokenstat, python -m tokenstat, python .../tokenstat/__main__.py
    for index, arg in enumerate(argv[:3]):
        path = Path(arg)
        if path.name == "tokenstat" or path.parts[-2:] == ("tokenstat", "__main__.py"):
            command = _command_word(argv[index + 1 :])
            return f"tokenstat {command}" if command else "tokenstat"
    return names[0]


def _command_word(args: list[str]) -> str | None:
    """The first argument that is neither an option nor a global option's value."""
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg in _VALUE_OPTIONS:
            skip = True
        elif not arg.startswith("-"):
            return arg
    return None


def lock_timeout() -> float:
    """Seconds to wait for a busy ledger: ``$TOKENSTAT_LOCK_TIMEOUT``, default 60."""
    text = os.environ.get(LOCK_TIMEOUT_ENV, "").strip()
    if not text:
        return DEFAULT_LOCK_TIMEOUT
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0:  # also NaN
        raise LedgerError(
            f"{LOCK_TIMEOUT_ENV} must be a number of seconds (0 or more), not {text!r}",
            hint=f"unset it for the default of {DEFAULT_LOCK_TIMEOUT:g} s",
        )
    return seconds


@dataclass
class LockWait:
    """One wait for a ledger file, shared by the opens of one `Ledger.open` (so the
    deadline and the announcement are one): ``on_busy`` gets the one line saying so."""

    path: Path
    on_busy: Callable[[str], None] | None = None
    timeout: float = field(default_factory=lock_timeout)
    started: float = field(default_factory=time.monotonic)
    announced: bool = False

    @staticmethod
    def _doing(read_only: bool) -> str:
        # a reader waits only for a writer; a writer also for readers
        return "being written by" if read_only else "in use by"

    def announce(self, holder: LockHolder, read_only: bool) -> None:
        if self.announced:
            return
        self.announced = True
        message = (
            f"ledger busy: {self.path} is {self._doing(read_only)} {holder.describe()}; "
            f"waiting up to {self.timeout:g} s..."
        )
        (self.on_busy or log.warning)(message)

    def give_up(self, holder: LockHolder, read_only: bool) -> LedgerError:
        waited = f" after {self.timeout:g} s" if self.timeout else ""
        return LedgerError(
            f"ledger busy: {self.path} is {self._doing(read_only)} {holder.describe()}{waited}",
            hint=f"try again when it has finished, or set {LOCK_TIMEOUT_ENV}=SECONDS to wait "
            "longer",
        )


def connect_waiting(connect: Callable[[], T], wait: LockWait, *, read_only: bool) -> T:
    """``connect()`` (which opens ``wait.path``, ``read_only`` or not), again and again
    while the file is locked by another process, until ``wait``'s deadline; then a
    `LedgerError` naming the holder. Other errors of ``connect`` propagate as they are."""
    delay = FIRST_RETRY
    while True:
        try:
            return connect()
        except duckdb.Error as exc:
            holder = lock_holder(exc)
            if holder is None:
                raise
        left = wait.started + wait.timeout - time.monotonic()
        if left <= 0:
            raise wait.give_up(holder, read_only) from None
        wait.announce(holder, read_only)
        time.sleep(min(delay, left))
        delay = min(delay * RETRY_FACTOR, LONGEST_RETRY)
