"""Ledgers for the chart, report and dashboard tests, and checks of the files they write.

- ``build_sample_ledger``: the bundled market sample plus a little own usage (request
  rows) in the sample's last week, so cost and what-if have something to price;
- ``build_hostile_ledger``: a tiny market whose model and app names are HTML/JS, to show
  they render as text.
"""

from __future__ import annotations

import csv
import struct
import zlib
from pathlib import Path
from xml.etree import ElementTree

from tokenstat import api
from tokenstat.catalog import load_catalog
from tokenstat.cli.demo import sample_path

EVIL_MODEL = "<script>alert(1)</script>"
EVIL_APP = '<img src=x onerror="alert(2)">'

OWN_USAGE = [
    # ts, model, input, output, app
    ("2026-03-30T09:00:00Z", "gpt-4o-2024-08-06", 120_000, 8_000, "support-bot"),
    ("2026-03-31T10:30:00Z", "claude-sonnet-4-20250514", 300_000, 20_000, "coder"),
    ("2026-04-01T12:00:00Z", "gpt-4o-mini", 50_000, 5_000, "support-bot"),
    ("2026-04-02T08:15:00Z", "deepseek-chat", 200_000, 30_000, "coder"),
    ("2026-04-03T17:45:00Z", "gemini-2.5-flash", 80_000, 9_000, "triage"),
]


def _write_csv(path: Path, header: list[str], rows: list[tuple]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def build_sample_ledger(directory: Path) -> Path:
    db = directory / "visual.duckdb"
    own = _write_csv(
        directory / "own-usage.csv",
        ["event_id", "ts", "model", "input_tokens", "output_tokens", "app"],
        [(f"own-{i}", *row) for i, row in enumerate(OWN_USAGE)],
    )
    catalog = load_catalog()
    with api.open_ledger(db) as ledger:
        api.import_path(ledger, "market", [sample_path()], catalog=catalog)
        api.import_path(ledger, "csv", [own], catalog=catalog, options={"mapping": {}})
    return db


def build_hostile_ledger(directory: Path) -> Path:
    db = directory / "hostile.duckdb"
    rows = []
    for day, scale in (("2026-03-16", 1), ("2026-03-23", 2), ("2026-03-30", 3)):
        rows += [
            (day, EVIL_MODEL, 9_000_000 * scale),
            (day, "deepseek/deepseek-v3.2", 5_000_000 * scale),
            (day, "openai/gpt-4o", 4_000_000),
        ]
    market = _write_csv(directory / "hostile-market.csv", ["date", "model", "tokens"], rows)
    own = _write_csv(
        directory / "hostile-own.csv",
        ["event_id", "ts", "model", "input_tokens", "output_tokens", "app"],
        [("h-1", "2026-03-31T10:00:00Z", "gpt-4o", 1000, 100, EVIL_APP)],
    )
    catalog = load_catalog()
    with api.open_ledger(db) as ledger:
        api.import_path(ledger, "market", [market], catalog=catalog)
        api.import_path(ledger, "csv", [own], catalog=catalog, options={"mapping": {}})
    return db


# ---- file checks --------------------------------------------------------------------------


def decode_png(data: bytes) -> tuple[int, int]:
    """Check a PNG fully (signature, chunk CRCs, inflated image size); return (w, h)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG signature"
    pos, idat, width, height, depth, colour = 8, b"", 0, 0, 0, 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert zlib.crc32(kind + body) == crc, f"bad CRC in {kind!r}"
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
        if kind == b"IEND":
            break
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[colour]
    row = 1 + (width * channels * depth + 7) // 8
    assert len(zlib.decompress(idat)) == row * height, "image data does not match its size"
    return width, height


def parse_svg(text: str) -> ElementTree.Element:
    root = ElementTree.fromstring(text)
    assert root.tag.endswith("svg")
    return root


def svg_text(root: ElementTree.Element) -> str:
    return " ".join(t.text or "" for t in root.iter() if t.tag.endswith("text"))
