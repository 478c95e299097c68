"""The table of local log locations is what the importers use: same names, globs, and
incremental reading, and each importer discovers exactly what its entry finds."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tokenstat.sources.locations import LOCAL_LOGS
from tokenstat.sources.registry import BUILTIN_SOURCES, get_source, reads_local_logs

# every default directory of every agent, under a home of the test's own
DEFAULT_DIRS = [
    ".claude/projects", ".config/claude/projects", ".codex/sessions",
    ".codex/archived_sessions", ".gemini/tmp", ".qwen/projects", ".kimi/sessions",
    ".kimi-code/sessions", ".local/share/opencode/storage/message",
    ".local/share/amp/threads", ".copilot/otel", ".factory/sessions",
    ".local/share/goose/sessions",
]  # fmt: skip


def test_the_table_names_every_builtin_that_reads_local_logs():
    local = {name for name in BUILTIN_SOURCES if reads_local_logs(get_source(name))}
    assert local == set(LOCAL_LOGS)


@pytest.mark.parametrize("name", sorted(LOCAL_LOGS))
def test_each_importer_reads_as_its_entry_says(name, tmp_path, monkeypatch):
    home = tmp_path / "home"
    for folder in DEFAULT_DIRS:
        (home / folder).mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "CLAUDE_CONFIG_DIR", "CODEX_HOME"):
        monkeypatch.delenv(var, raising=False)
    source, entry = get_source(name), LOCAL_LOGS[name]
    assert (source.file_glob, source.incremental) == (entry.glob, entry.incremental)
    found = source.discover()
    assert found and found == entry.find()
    assert all(Path(p).is_relative_to(home) for p in found)


def test_finding_the_logs_needs_no_arrow():
    code = (
        "import sys\n"
        "from tokenstat.sources.locations import LOCAL_LOGS\n"
        "[e.find() for e in LOCAL_LOGS.values()]\n"
        "print('pyarrow' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr
