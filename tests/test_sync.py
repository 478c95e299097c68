"""Two machines, two real ledgers, one shared folder: `tokenstat sync` counts every request
once, whichever machines hold its log, and a second run changes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

# (message id, UTC time, uncached input, output): the log of a session
MESSAGES = {
    "m1": ("2026-03-02T10:00:00Z", 100, 10),
    "m2": ("2026-03-02T11:00:00Z", 200, 20),
    "m3": ("2026-03-03T09:00:00Z", 300, 30),
    "m4": ("2026-03-03T12:00:00Z", 400, 40),
}


def _log(home: Path, name: str, ids: list[str]) -> None:
    folder = home / ".claude" / "projects" / "-w-app"
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for i in ids:
        ts, uncached, output = MESSAGES[i]
        lines.append(
            json.dumps(
                {
                    "type": "assistant",
                    "sessionId": name,
                    "cwd": "/w/app",
                    "timestamp": ts,
                    "requestId": "req-" + i,
                    "message": {
                        "id": i,
                        "model": "claude-haiku-4-5",
                        "usage": {"input_tokens": uncached, "output_tokens": output},
                    },
                }
            )
        )
    (folder / f"{name}.jsonl").write_text("\n".join(lines) + "\n")


@pytest.fixture
def machines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, invoke):
    """``run(machine, *args)``: the CLI as that machine (its home, ledger and name)."""
    # the laptop's session s1 holds m1-m3; the desk has a copy of s1 without m1 (synced
    # dotfiles, an older copy) and a session of its own, s2, with m4
    _log(tmp_path / "laptop", "s1", ["m1", "m2", "m3"])
    _log(tmp_path / "desk", "s1", ["m2", "m3"])
    _log(tmp_path / "desk", "s2", ["m4"])
    for var in ("CLAUDE_CONFIG_DIR", "CODEX_HOME", "XDG_CONFIG_HOME"):
        monkeypatch.delenv(var, raising=False)

    def run(machine: str, *args: str):
        monkeypatch.setenv("HOME", str(tmp_path / machine))
        monkeypatch.setenv("TOKENSTAT_MACHINE", machine)
        db = str(tmp_path / f"{machine}.duckdb")
        result = invoke("--db", db, *args)
        assert result.exit_code == 0, result.output
        return result

    return run


def _daily(run, machine: str, *args: str) -> dict:
    return json.loads(run(machine, "daily", "--json", *args).stdout)


def _sync(run, machine: str, folder: Path) -> dict:
    return json.loads(run(machine, "sync", str(folder), "--json").stdout)


def test_two_machines_count_each_request_once(machines, tmp_path):
    shared = tmp_path / "shared"
    laptop = _daily(machines, "laptop")
    assert laptop["totals"]["output_tokens"] == 10 + 20 + 30
    desk = _daily(machines, "desk")
    assert desk["totals"]["output_tokens"] == 20 + 30 + 40

    first = _sync(machines, "laptop", shared)
    assert (first["exported_rows"], first["imported_rows"], first["machines"]) == (3, 0, [])
    second = _sync(machines, "desk", shared)
    # the desk writes its 3 rows, and reads the laptop's: m1 is new, m2 and m3 it has
    assert (second["exported_rows"], second["imported_rows"]) == (3, 1)
    assert second["duplicate_rows"] == 2
    third = _sync(machines, "laptop", shared)
    assert (third["exported_rows"], third["imported_rows"], third["duplicate_rows"]) == (0, 1, 2)

    # every request once on both machines: m1..m4
    want_out, want_in = 10 + 20 + 30 + 40, 100 + 200 + 300 + 400
    for machine in ("laptop", "desk"):
        report = _daily(machines, machine, "--no-refresh")
        assert report["totals"]["output_tokens"] == want_out
        assert report["totals"]["input_tokens"] == want_in
        assert [r["start"] for r in report["rows"]] == ["2026-03-02", "2026-03-03"]

    # by machine: a request counts under the machine that read it first
    on_desk = _daily(machines, "desk", "--no-refresh", "--by", "machine")
    outputs: dict[str, int] = {}
    for row in on_desk["rows"]:
        outputs[row["machine"]] = outputs.get(row["machine"], 0) + row["output_tokens"]
    assert outputs == {"desk": 20 + 30 + 40, "laptop": 10}


def test_a_second_sync_changes_nothing(machines, tmp_path):
    shared = tmp_path / "shared"
    _daily(machines, "laptop")
    _daily(machines, "desk")
    for machine in ("laptop", "desk", "laptop", "desk"):
        _sync(machines, machine, shared)
    files = sorted(p.relative_to(shared) for p in shared.rglob("*.parquet"))
    again = [_sync(machines, m, shared) for m in ("laptop", "desk")]
    assert [(r["exported_rows"], r["imported_rows"]) for r in again] == [(0, 0), (0, 0)]
    assert sorted(p.relative_to(shared) for p in shared.rglob("*.parquet")) == files
    # each machine wrote only below its own folder, rows of its own imports
    for path in shared.rglob("*.parquet"):
        machine = path.parent.name
        table = pq.read_table(path)
        assert set(table.column("machine").to_pylist()) <= {machine}
        assert table.schema.metadata[b"format"] == b"tokenstat-sync/1"


def test_a_damaged_file_is_one_bad_record_not_a_failed_sync(machines, tmp_path):
    shared = tmp_path / "shared"
    _daily(machines, "laptop")
    _sync(machines, "laptop", shared)
    (shared / "server").mkdir()
    (shared / "server" / "x.parquet").write_bytes(b"PAR1 not really")
    result = _sync(machines, "desk", shared)
    assert result["imported_rows"] == 3
    assert result["bad_rows"] == 1


def test_sync_refuses_a_file_as_folder(machines, tmp_path, invoke):
    target = tmp_path / "not-a-folder"
    target.write_text("x")
    result = invoke("--db", str(tmp_path / "l.duckdb"), "sync", str(target))
    assert result.exit_code == 1
    assert "is not a directory" in result.stderr
    assert "Traceback" not in result.output
