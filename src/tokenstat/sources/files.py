"""The files an import reads: the paths it is given, directories expanded."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from tokenstat.errors import ImportFormatError


def expand_paths(paths: Sequence[Path], pattern: str | None = None) -> list[Path]:
    """Files named, and the files below directories named (sorted, hidden ones skipped;
    only those matching ``pattern`` when one is given)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(
                p for p in path.rglob(pattern or "*") if p.is_file() and not p.name.startswith(".")
            )
        elif path.exists():
            files.append(path)
        else:
            raise ImportFormatError("no such file or directory", location=str(path))
    return files
