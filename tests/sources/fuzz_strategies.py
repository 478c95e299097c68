"""Hypothesis strategies that damage importer fixtures the way hostile input does.

A *line mutation* changes one line of a file (a number, a date, an invalid byte, a cut,
deep nesting, a long value); a *file mutation* changes the file as a whole (a byte order
mark, a cut anywhere, nesting wrapped around it). `tests/sources/test_fuzz.py` applies
them to every registered importer's fixtures.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from hypothesis import strategies as st

from tokenstat.sources import limits

# a number standing alone as a value: a JSON number (after ``:``, ``[`` or ``,``) or a whole
# CSV field; not the digits inside an id or a time
NUMBER = re.compile(rb"(?<=[:,\[]) ?-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?=[,}\]\r]|$)")
DATE = re.compile(rb"\d{4}-\d{2}-\d{2}")

HOSTILE_NUMBERS = [
    str(2**63).encode(),
    str(2**63 - 1).encode(),
    str(2**64).encode(),
    str(limits.MAX_COUNT + 1).encode(),
    b"1e30",
    b"1e400",
    b"-1",
    b"1.5",
    b"+7",
    b"NaN",
    b"Infinity",
    b"-Infinity",
    b"99999999999999999999999999",
    b"0",
]
HOSTILE_DATES = [
    b"9999-12-31",
    b"0000-01-01",
    b"0001-01-01",
    b"2026-02-30",
    b"2026-13-01",
    b"1970-01-01",
    b"2014-12-31",
]
INVALID_BYTES = [b"\xff", b"\xc3\x28", b"\xe2\x82", b"\x80", b"\xed\xa0\x80"]


@dataclass(frozen=True)
class LineMutation:
    """How to change one line: ``kind`` names it in failure reports."""

    kind: str
    apply: Callable[[bytes], bytes]

    def __repr__(self) -> str:
        return f"LineMutation({self.kind})"


def _replace_nth(pattern: re.Pattern[bytes], line: bytes, index: int, new: bytes) -> bytes:
    matches = list(pattern.finditer(line))
    if not matches:
        return line + new  # nothing to replace: the value lands at the end of the line
    match = matches[index % len(matches)]
    return line[: match.start()] + new + line[match.end() :]


@st.composite
def line_mutations(draw: st.DrawFn) -> LineMutation:
    """One hostile change of a line."""
    kind = draw(
        st.sampled_from(["number", "date", "invalid-byte", "cut", "nesting", "long-value", "nul"])
    )
    index = draw(st.integers(min_value=0, max_value=50))
    if kind == "number":
        new = draw(st.sampled_from(HOSTILE_NUMBERS))
        return LineMutation(
            f"number {new!r} #{index}", lambda b: _replace_nth(NUMBER, b, index, new)
        )
    if kind == "date":
        new = draw(st.sampled_from(HOSTILE_DATES))
        return LineMutation(f"date {new!r} #{index}", lambda b: _replace_nth(DATE, b, index, new))
    if kind == "invalid-byte":
        new = draw(st.sampled_from(INVALID_BYTES))
        where = draw(st.floats(min_value=0, max_value=1))
        return LineMutation(
            f"bytes {new!r} at {where:.2f}",
            lambda b: b[: int(len(b) * where)] + new + b[int(len(b) * where) :],
        )
    if kind == "cut":
        where = draw(st.floats(min_value=0, max_value=1))
        return LineMutation(f"cut at {where:.2f}", lambda b: b[: max(1, int(len(b) * where))])
    if kind == "nesting":
        depth = draw(st.sampled_from([65, 1000, 20000]))
        nested = b"[" * depth + b"]" * depth
        return LineMutation(
            f"nesting {depth} #{index}", lambda b: _replace_nth(NUMBER, b, index, nested)
        )
    if kind == "nul":
        return LineMutation("nul byte", lambda b: _replace_nth(NUMBER, b, index, b"\x00"))
    size = draw(st.sampled_from([limits.MAX_CSV_LINE_BYTES + 1, 2 << 20]))
    return LineMutation(
        f"long value {size} #{index}", lambda b: _replace_nth(NUMBER, b, index, b"7" * size)
    )


@st.composite
def file_mutations(draw: st.DrawFn) -> tuple[str, Callable[[bytes], bytes]]:
    """(name, change) of a whole file."""
    kind = draw(st.sampled_from(["bom", "cut", "wrap-nesting", "empty", "invalid-tail"]))
    if kind == "bom":
        return "bom", lambda data: limits.BOM + data
    if kind == "cut":
        where = draw(st.floats(min_value=0, max_value=1))
        return f"cut at {where:.2f}", lambda data: data[: int(len(data) * where)]
    if kind == "wrap-nesting":
        depth = draw(st.sampled_from([100, 30000]))
        return f"wrapped in {depth} arrays", lambda data: b"[" * depth + data + b"]" * depth
    if kind == "empty":
        return "empty", lambda data: b""
    return "invalid tail", lambda data: data + b"\xff\xfe\n"
