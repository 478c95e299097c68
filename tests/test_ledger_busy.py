"""A busy ledger: while another process writes it, reports and imports wait (one line on
stderr naming the process), then answer; with a timeout of 0 they stop at once with one
line. Real processes hold the real file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tokenstat import api
from tokenstat.errors import LedgerError
from tokenstat.ledger import Ledger
from tokenstat.ledger_lock import lock_timeout

TOKENSTAT = Path(sys.executable).parent / "tokenstat"
# Opens the ledger for writing (optionally importing a file while it holds it), says so
# by creating READY, and holds it until RELEASE appears (at most 20 s). Saved as a file
# named ``tokenstat`` and run as ``python .../tokenstat --db DB import market [FILE]``, so
# that its command line reads like an import's.
HOLDER = """\
import sys, time
from pathlib import Path
from tokenstat import api
from tokenstat.ledger import Ledger
db, files = sys.argv[2], sys.argv[5:]
ready, release = Path(db + ".ready"), Path(db + ".release")
with Ledger.open(db) as ledger:
    if files:
        api.import_path(ledger, "market", [Path(f) for f in files])
    ready.touch()
    deadline = time.monotonic() + 20
    while not release.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
"""


def market_file(path: Path, first_day: int, days: int, tokens: int) -> Path:
    """Rows of one model on consecutive March days, ``tokens`` input tokens each."""
    rows = [f"2026-03-{first_day + i:02d},deepseek-chat,{tokens},0" for i in range(days)]
    path.write_text("\n".join(["date,model,input_tokens,output_tokens", *rows]) + "\n")
    return path


def data_lines(path: Path) -> int:
    return len(path.read_text().splitlines()) - 1


def token_sum(path: Path) -> int:
    return sum(int(line.split(",")[2]) for line in path.read_text().splitlines()[1:])


class Holder:
    """A process holding the ledger ``db`` open for writing, until `release`."""

    def __init__(self, tmp_path: Path, db: Path, files: list[Path] = ()):
        script = tmp_path / "holder" / "tokenstat"
        script.parent.mkdir(exist_ok=True)
        script.write_text(HOLDER)
        self.db = db
        args = [sys.executable, str(script), "--db", str(db), "import", "market", *map(str, files)]
        self.process = subprocess.Popen(args, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 30
        while not Path(f"{db}.ready").exists():
            assert self.process.poll() is None, self.process.stderr.read()
            assert time.monotonic() < deadline, "the holder did not open the ledger"
            time.sleep(0.02)
        self.pid = self.process.pid

    def release(self) -> None:
        Path(f"{self.db}.release").touch()
        assert self.process.wait(timeout=30) == 0, self.process.stderr.read()


def start(db: Path, *args: str, timeout: str = "30") -> subprocess.Popen:
    env = {**os.environ, "TOKENSTAT_LOCK_TIMEOUT": timeout}
    return subprocess.Popen(
        [str(TOKENSTAT), "--db", str(db), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


@pytest.fixture
def ledger_with_rows(tmp_path: Path) -> tuple[Path, Path]:
    db, first = tmp_path / "l.duckdb", market_file(tmp_path / "first.csv", 2, 5, 1000)
    with api.open_ledger(db) as ledger:
        api.import_path(ledger, "market", [first])
    return db, first


def test_a_report_waits_for_an_import_then_answers(tmp_path, ledger_with_rows):
    db, first = ledger_with_rows
    holder = Holder(tmp_path, db)
    report = start(db, "summary", "--json", "--at", "2026-03-02")
    busy = report.stderr.readline()
    assert busy.startswith(f"ledger busy: {db} is being written by PID {holder.pid} ")
    assert "(tokenstat import)" in busy and "waiting up to 30 s" in busy
    assert report.poll() is None  # still waiting
    holder.release()
    stdout, stderr = report.communicate(timeout=60)
    assert report.returncode == 0, stderr
    assert "ledger busy" not in stderr  # said once
    assert json.loads(stdout)["total"]["tokens"] == token_sum(first)


def test_with_no_wait_a_busy_ledger_is_one_line_and_exit_1(tmp_path, ledger_with_rows):
    db, _ = ledger_with_rows
    holder = Holder(tmp_path, db)
    try:
        report = start(db, "summary", "--json", timeout="0")
        stdout, stderr = report.communicate(timeout=60)
    finally:
        holder.release()
    assert report.returncode == 1
    assert stdout == ""
    assert stderr.splitlines()[0] == (
        f"error: ledger busy: {db} is being written by PID {holder.pid} (tokenstat import)"
    )
    assert "TOKENSTAT_LOCK_TIMEOUT" in stderr and "Traceback" not in stderr
    assert "waiting" not in stderr


def test_an_import_that_waits_too_long_stops_and_changes_nothing(tmp_path, ledger_with_rows):
    db, first = ledger_with_rows
    other = market_file(tmp_path / "other.csv", 10, 3, 7)
    holder = Holder(tmp_path, db)
    try:
        late = start(db, "import", "market", str(other), timeout="0.3")
        _, stderr = late.communicate(timeout=60)
    finally:
        holder.release()
    assert late.returncode == 1
    assert f"is in use by PID {holder.pid} (tokenstat import) after 0.3 s" in stderr
    assert "Traceback" not in stderr
    with Ledger.open(db, read_only=True) as ledger:
        assert ledger.row_count() == data_lines(first)


def test_imports_and_a_report_at_once_lose_nothing(tmp_path: Path):
    db = tmp_path / "l.duckdb"
    first = market_file(tmp_path / "first.csv", 2, 6, 1000)
    second = market_file(tmp_path / "second.csv", 12, 4, 10)
    holder = Holder(tmp_path, db, [first])  # an import that holds the ledger
    importing = start(db, "import", "market", str(second), "--json")
    report = start(db, "summary", "--json", "--period", "month", "--at", "2026-03-01")
    assert "is in use by" in importing.stderr.readline()
    assert "is being written by" in report.stderr.readline()
    holder.release()
    imported, import_err = importing.communicate(timeout=60)
    answered, report_err = report.communicate(timeout=60)
    assert importing.returncode == 0, import_err
    assert report.returncode == 0, report_err
    assert json.loads(imported)["rows_new"] == data_lines(second)
    # the report ran before or after the second import, never in between
    assert json.loads(answered)["total"]["tokens"] in {
        token_sum(first),
        token_sum(first) + token_sum(second),
    }
    with Ledger.open(db, read_only=True) as ledger:
        assert ledger.row_count() == data_lines(first) + data_lines(second)
        assert ledger.db.execute("SELECT sum(rows) FROM usage_daily").fetchone()[0] == (
            data_lines(first) + data_lines(second)
        )


def test_the_wait_is_announced_through_the_callback(tmp_path, ledger_with_rows, monkeypatch):
    db, first = ledger_with_rows
    holder = Holder(tmp_path, db)
    monkeypatch.setenv("TOKENSTAT_LOCK_TIMEOUT", "20")
    lines: list[str] = []

    def on_busy(line: str) -> None:
        lines.append(line)
        holder.release()  # the holder lets go once the wait has begun

    with Ledger.open(db, read_only=True, on_busy=on_busy) as ledger:
        assert ledger.row_count() == data_lines(first)
    assert len(lines) == 1 and f"PID {holder.pid}" in lines[0]


@pytest.mark.parametrize("value", ["soon", "-1", "nan"])
def test_a_bad_timeout_setting_is_a_clear_error(monkeypatch, value):
    monkeypatch.setenv("TOKENSTAT_LOCK_TIMEOUT", value)
    with pytest.raises(LedgerError, match="TOKENSTAT_LOCK_TIMEOUT must be a number of seconds"):
        lock_timeout()
