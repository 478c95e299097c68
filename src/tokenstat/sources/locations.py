"""Where each coding agent keeps its logs on this machine, and how its files are read.

Each local-log importer's `Source.discover` returns `LOCAL_LOGS[name].find()`, and its
``file_glob`` and ``incremental`` come from the same entry, so the table is the one place
that knows them. This module needs only the standard library: the own-usage commands ask
it whether any log is new without loading the importers (and Arrow behind them).

Paths come from the agent's environment variable when it is set (comma-separated paths
allowed), else from its default directories under the home directory; only directories
(or files) that exist are returned.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Location:
    """How to find one importer's logs: ``find`` (existing paths), the glob of its files
    below them, and whether they are append-only logs read incrementally."""

    find: Callable[[], list[Path]]
    glob: str
    incremental: bool


def env_paths(variable: str) -> list[Path] | None:
    """The paths an environment variable names (comma-separated, ``~`` expanded), or
    None when it is unset or blank."""
    value = os.environ.get(variable, "").strip()
    if not value:
        return None
    return [Path(part.strip()).expanduser() for part in value.split(",") if part.strip()]


def existing_dirs(paths: Iterable[Path]) -> list[Path]:
    """The paths that are directories, each once, in the order given."""
    found: list[Path] = []
    seen: set[Path] = set()
    for path in paths:
        if path.is_dir() and path.resolve() not in seen:
            seen.add(path.resolve())
            found.append(path)
    return found


def _below(roots: Iterable[Path], name: str, *rest: str) -> list[Path]:
    """``root/<rest...>/name`` of each root, or the root itself when it is that folder."""
    return existing_dirs(r if r.name == name else r.joinpath(*rest, name) for r in roots)


def _data_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


def claude_code() -> list[Path]:
    """``$CLAUDE_CONFIG_DIR`` (several, comma-separated), else ``$XDG_CONFIG_HOME/claude``
    (``~/.config/claude``) and ``~/.claude``: their ``projects`` folders."""
    roots = env_paths("CLAUDE_CONFIG_DIR")
    if roots is None:
        config = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
        roots = [config / "claude", Path.home() / ".claude"]
    return _below(roots, "projects")


def codex() -> list[Path]:
    """``$CODEX_HOME`` (default ``~/.codex``): ``sessions`` and ``archived_sessions``."""
    env = os.environ.get("CODEX_HOME", "").strip()
    home = Path(env).expanduser() if env else Path.home() / ".codex"
    return existing_dirs([home / "sessions", home / "archived_sessions"])


def gemini_cli() -> list[Path]:
    """``$GEMINI_DATA_DIR``, else ``~/.gemini/tmp``."""
    return existing_dirs(env_paths("GEMINI_DATA_DIR") or [Path.home() / ".gemini" / "tmp"])


def qwen_code() -> list[Path]:
    """``$QWEN_DATA_DIR``, else ``~/.qwen``: its ``projects`` folder."""
    return _below(env_paths("QWEN_DATA_DIR") or [Path.home() / ".qwen"], "projects")


def kimi_cli() -> list[Path]:
    """``$KIMI_DATA_DIR``, else ``~/.kimi`` and ``~/.kimi-code``: their ``sessions``."""
    roots = env_paths("KIMI_DATA_DIR") or [Path.home() / ".kimi", Path.home() / ".kimi-code"]
    return _below(roots, "sessions")


def opencode() -> list[Path]:
    """``$OPENCODE_DATA_DIR``, else ``$XDG_DATA_HOME/opencode``: ``storage/message``."""
    roots = env_paths("OPENCODE_DATA_DIR") or [_data_home() / "opencode"]
    return _below(roots, "message", "storage")


def amp() -> list[Path]:
    """``$AMP_DATA_DIR``, else ``$XDG_DATA_HOME/amp``: its ``threads`` folder."""
    return _below(env_paths("AMP_DATA_DIR") or [_data_home() / "amp"], "threads")


def copilot_cli() -> list[Path]:
    """The files ``$COPILOT_OTEL_FILE_EXPORTER_PATH`` names, and ``~/.copilot/otel``."""
    named = [p for p in env_paths("COPILOT_OTEL_FILE_EXPORTER_PATH") or [] if p.is_file()]
    return named + existing_dirs([Path.home() / ".copilot" / "otel"])


def droid() -> list[Path]:
    """``$DROID_SESSIONS_DIR``, else ``~/.factory/sessions``."""
    return existing_dirs(env_paths("DROID_SESSIONS_DIR") or [Path.home() / ".factory" / "sessions"])


def goose() -> list[Path]:
    """``$GOOSE_PATH_ROOT/data/sessions``, else ``$XDG_DATA_HOME/goose/sessions`` and Block's
    goose folders (macOS and Linux)."""
    roots = env_paths("GOOSE_PATH_ROOT")
    if roots is not None:
        return existing_dirs(r / "data" / "sessions" for r in roots)
    home = Path.home()
    return existing_dirs(
        [
            _data_home() / "goose" / "sessions",
            home / "Library" / "Application Support" / "Block" / "goose" / "sessions",
            home / ".local" / "share" / "Block" / "goose" / "sessions",
        ]
    )


LOCAL_LOGS: dict[str, Location] = {
    "claude-code": Location(claude_code, "*.jsonl", True),
    "codex": Location(codex, "*.jsonl", True),
    "gemini-cli": Location(gemini_cli, "*.json*", True),
    "qwen-code": Location(qwen_code, "*.jsonl", True),
    "kimi-cli": Location(kimi_cli, "wire.jsonl*", True),
    "opencode": Location(opencode, "*.json", False),
    "amp": Location(amp, "*.json", False),
    "copilot-cli": Location(copilot_cli, "*.jsonl", True),
    "droid": Location(droid, "*.settings.json", False),
    "goose": Location(goose, "*.db", False),
}
