"""Fuzzing every registered importer from its own valid fixtures.

Taken from the registry, as the conformance suite is, so a new importer is fuzzed too. Each
good fixture file (tests/fixtures/sources/<importer>/) is damaged by the strategies of
`fuzz_strategies` (next to this file) and read by the importer, each batch passing the
pipeline's last check (`tokenstat.sources.limits.screen_batch`). What must hold:

- no exception escapes other than a `TokenstatError` (a one-line error for the file);
- one damaged line of a line-oriented file (JSON Lines, CSV) costs at most the records of
  that line: every event of the file with that line blanked out is still read, and when
  the file yields fewer events than the intact one, a bad record names that line;
- a byte order mark changes nothing;
- the nastiest inputs (deep nesting, huge lines and fields) stay under a memory bound, in a
  subprocess with an address-space limit, through the real pipeline into a DuckDB file.

A fixed seed keeps CI runs the same; ``TOKENSTAT_FUZZ_EXAMPLES`` (default 12 per importer
and test) or ``make fuzz`` runs longer.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

import pytest
from fuzz_strategies import HOSTILE_DATES, HOSTILE_NUMBERS, file_mutations, line_mutations
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tokenstat.errors import TokenstatError
from tokenstat.prices.points import stores_prices
from tokenstat.sources.base import BadRecord, ReadContext
from tokenstat.sources.limits import BOM, screen_batch
from tokenstat.sources.registry import get_source, source_names

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "sources"
NOT_INPUT = {"expected.json", "README.md"}
EXAMPLES = int(os.environ.get("TOKENSTAT_FUZZ_EXAMPLES", "12"))
FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
IMPORTERS = source_names()
USAGE_IMPORTERS = [n for n in IMPORTERS if not stores_prices(get_source(n))]


# importers whose valid fixtures live elsewhere: (folder under tests/fixtures, pattern)
ELSEWHERE = {"openrouter-models": ("openrouter", "models-*.json")}


def good_files(name: str) -> list[Path]:
    if name in ELSEWHERE:
        folder, pattern = ELSEWHERE[name]
        return sorted((FIXTURES.parent / folder).glob(pattern))
    folder = FIXTURES / name
    if not folder.is_dir():
        pytest.fail(f"importer {name!r} has no fixtures in tests/fixtures/sources/{name}/")
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and p.name not in NOT_INPUT and not p.name.startswith(".")
    )


def options(name: str) -> dict[str, Any]:
    expected = FIXTURES / name / "expected.json"
    if not expected.is_file():
        return {}
    return json.loads(expected.read_text(encoding="utf-8")).get("options", {})


def line_oriented(path: Path, data: bytes) -> bool:
    """CSV, or JSON Lines (several lines, each one JSON value on its own)."""
    if data.startswith(b"PAR1") or b"\x00" in data[:4096]:
        return False
    head = data.lstrip()[:1]
    if path.suffix == ".csv" and head not in (b"[", b"{"):
        return True
    lines = [line for line in data.splitlines() if line.strip()]
    if len(lines) < 2:
        return False
    try:
        return all(isinstance(json.loads(line), dict) for line in lines)
    except ValueError:
        return False


class Read:
    """What one read of a file gave: event ids, bad records, or the error of the file."""

    def __init__(self, name: str, path: Path):
        self.ids: set[str] = set()
        self.bad: list[BadRecord] = []
        self.error: TokenstatError | None = None
        ctx = ReadContext(options=options(name), on_bad=self.bad.append)
        try:
            for batch in get_source(name).read(path, ctx):
                if "event_id" in batch.schema.names:
                    batch = screen_batch(batch, path, ctx.bad)
                    self.ids.update(batch.column("event_id").to_pylist())
                else:  # price points: counted, not identified
                    self.ids.update(f"row {len(self.ids) + i}" for i in range(batch.num_rows))
        except TokenstatError as exc:  # the documented one-line error for the file
            self.error = exc
            assert "\n" not in str(exc), str(exc)

    def names_line(self, path: Path, lineno: int) -> bool:
        here = f"{path}:{lineno}"
        return any(b.location == here or b.location.startswith(here + " ") for b in self.bad) or (
            self.error is not None and str(path) in str(self.error)
        )


def _is_text(raw: bytes) -> bool:
    """UTF-8 text without a byte order mark (a BOM only makes sense in front of text)."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return not raw.startswith(BOM) and b"\x00" not in raw


def _write(folder: str, source_path: Path, data: bytes) -> Path:
    path = Path(folder) / source_path.name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("name", IMPORTERS)
@FUZZ
@given(data=st.data())
def test_one_damaged_line_costs_at_most_that_line(name: str, data: st.DataObject):
    files = [(p, p.read_bytes()) for p in good_files(name)]
    candidates = [(p, raw) for p, raw in files if line_oriented(p, raw)]
    if not candidates:
        pytest.skip(f"{name}: no line-oriented fixture (documents are fuzzed whole below)")
    source_path, raw = data.draw(st.sampled_from(candidates), label="file")
    lines = raw.split(b"\n")
    lineno = data.draw(st.integers(min_value=1, max_value=len(lines)), label="line")
    mutation = data.draw(line_mutations(), label="mutation")
    damaged = lines.copy()
    damaged[lineno - 1] = mutation.apply(lines[lineno - 1])
    # CSV fields may hold line breaks: an unbalanced quote joins the next line to this one
    joins_next = source_path.suffix == ".csv" and damaged[lineno - 1].count(b'"') % 2 == 1
    with tempfile.TemporaryDirectory() as folder:
        intact = Read(name, _write(folder, source_path, raw))
        blanked = lines.copy()
        blanked[lineno - 1 : lineno + joins_next] = [b""] * len(
            lines[lineno - 1 : lineno + joins_next]
        )
        without = Read(name, _write(folder, source_path, b"\n".join(blanked)))
        path = _write(folder, source_path, b"\n".join(damaged))
        read = Read(name, path)
    header = source_path.suffix == ".csv" and lineno == 1
    if header:
        return  # a damaged header may cost the file: the property is only that nothing escapes
    if joins_next:
        assert read.names_line(path, lineno), f"{name} {mutation}: line {lineno} not named"
    if lineno == 1:
        # line 1 may hold what the records share (a session: ids may change), and a first
        # line cut to an opening brace reads as the start of one document: then the file
        # must at least be named
        if len(read.ids) < len(without.ids):
            assert read.bad or read.error, f"{name} {mutation}: line 1 cost records silently"
        return
    # the records that do not depend on line L (a log of running totals derives the
    # records after a line from it)
    independent = without.ids & intact.ids
    lost = independent - read.ids
    assert not lost, f"{name} {mutation}: line {lineno} cost other records: {sorted(lost)[:5]}"
    if len(read.ids) < len(intact.ids):
        # named at line L, or (a line others depend on, such as a log's model context) at
        # the lines whose records it cost
        assert read.names_line(path, lineno) or read.bad, (
            f"{name} {mutation}: records of line {lineno} were dropped without a bad record"
        )


@pytest.mark.parametrize("name", IMPORTERS)
@FUZZ
@given(data=st.data())
def test_a_hostile_value_in_a_document_is_named(name: str, data: st.DataObject):
    files = [(p, p.read_bytes()) for p in good_files(name)]
    documents = [(p, raw) for p, raw in files if not line_oriented(p, raw)]
    if not documents:
        pytest.skip(f"{name}: no document fixture (its lines are fuzzed above)")
    source_path, raw = data.draw(st.sampled_from(documents), label="file")
    if raw.startswith(b"PAR1"):
        pytest.skip("Parquet is fuzzed as a whole file below")
    kind = data.draw(st.sampled_from(["number", "date"]), label="kind")
    pattern, values = (
        (rb"(?<![\w.\-])\d+(?:\.\d+)?(?![\w\-:])", HOSTILE_NUMBERS)
        if kind == "number"
        else (rb"\d{4}-\d{2}-\d{2}", HOSTILE_DATES)
    )
    matches = list(re.finditer(pattern, raw))
    if not matches:
        return
    match = data.draw(st.sampled_from(matches), label="value")
    new = data.draw(st.sampled_from(values), label="hostile")
    with tempfile.TemporaryDirectory() as folder:
        intact = Read(name, _write(folder, source_path, raw))
        path = _write(folder, source_path, raw[: match.start()] + new + raw[match.end() :])
        read = Read(name, path)
    if len(read.ids) < len(intact.ids):
        assert read.bad or read.error, f"{name}: {new!r} dropped records without naming one"
        assert all(str(path) in b.location for b in read.bad)


@pytest.mark.parametrize("name", IMPORTERS)
@FUZZ
@given(data=st.data())
def test_a_damaged_file_never_escapes(name: str, data: st.DataObject):
    source_path = data.draw(st.sampled_from(good_files(name)), label="file")
    raw = source_path.read_bytes()
    label, change = data.draw(file_mutations(), label="mutation")
    with tempfile.TemporaryDirectory() as folder:
        path = _write(folder, source_path, change(raw))
        read = Read(name, path)  # raises if anything but a TokenstatError escapes
        if label == "bom" and _is_text(raw):
            intact = Read(name, _write(folder, source_path, raw))
            assert read.ids == intact.ids, f"{name}: a byte order mark changed the records"
    assert all(str(path) in b.location for b in read.bad), [b.location for b in read.bad]


# ---- memory: the nastiest inputs in a subprocess with an address-space limit --------------

ADDRESS_SPACE = int(1.5 * (1 << 30))
_CHILD = textwrap.dedent(
    """
    import json, resource, sys
    from pathlib import Path
    resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
    from tokenstat import api
    from tokenstat.errors import TokenstatError
    source, path, db, options = sys.argv[1], Path(sys.argv[2]), sys.argv[3], json.loads(sys.argv[4])
    try:
        with api.open_ledger(db) as ledger:
            result = api.import_path(ledger, source, [path], options=options)
        outcome = {{"bad": [b.message() for b in result.bad_examples], "rows": result.rows_new}}
    except TokenstatError as exc:
        outcome = {{"error": str(exc)}}
    # VmHWM: this process image's own peak (ru_maxrss would carry the forking parent's)
    status = Path("/proc/self/status")
    lines = status.read_text().splitlines() if status.exists() else []
    peaks = [line.split()[1] for line in lines if line.startswith("VmHWM:")]
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    outcome["maxrss_kib"] = int(peaks[0]) if peaks else own
    print(json.dumps(outcome))
    """
).format(limit=ADDRESS_SPACE)

JSONL_MAP = {
    "mapping": {"event_id": "id", "input_tokens": "in", "output_tokens": "out", "ts": "time"}
}


def _nasty(kind: str, folder: Path) -> tuple[str, Path, dict[str, Any]]:
    """(importer, file, options) of one of the nastiest inputs tried."""
    if kind == "nested-document-200k":
        path = folder / "activity.json"
        path.write_bytes(b"[" * 100_000 + b"]" * 100_000)
        return "openrouter-activity", path, {}
    if kind == "nested-csv-named-json":
        path = folder / "spend-logs.csv"
        path.write_bytes(b"[" * 1_000_000 + b"]" * 1_000_000)
        return "litellm", path, {}
    if kind == "nested-rankings":
        path = folder / "rankings.json"
        path.write_bytes(b'{"data": ' + b"[" * 500_000 + b"]" * 500_000 + b"}")
        return "openrouter-rankings", path, {}
    if kind == "nested-in-one-line":
        path = folder / "calls.jsonl"
        path.write_bytes(b'{"x": ' + b"[" * 2_000_000 + b"]" * 2_000_000 + b"}\n")
        return "jsonl", path, JSONL_MAP
    if kind == "64mib-json-line":
        path = folder / "calls.jsonl"
        good = b'{"id": "a", "time": "2026-03-01T00:00:00Z", "model": "m", "in": 1, "out": 1}\n'
        path.write_bytes(good + b'{"id": "b", "pad": "' + b"x" * (64 << 20) + b'"}\n' + good)
        return "jsonl", path, JSONL_MAP
    if kind == "64mib-log-line":
        path = folder / "session.jsonl"
        path.write_bytes(b'{"type": "user", "pad": "' + b"y" * (64 << 20) + b'"}\n')
        return "claude-code", path, {}
    if kind == "64mib-csv-field":
        path = folder / "m.csv"
        head = b"date,grain,model,provider,input_tokens,output_tokens\n"
        path.write_bytes(head + b"2026-03-02,day,a/" + b"z" * (64 << 20) + b",p,1,1\n")
        return "market", path, {}
    raise AssertionError(kind)


NASTY = [
    "nested-document-200k",
    "nested-csv-named-json",
    "nested-rankings",
    "nested-in-one-line",
    "64mib-json-line",
    "64mib-log-line",
    "64mib-csv-field",
]
# the bound on the child's peak resident memory: the interpreter, DuckDB and Arrow take
# ~200 MiB; a parser that builds what it reads would need several GiB
PEAK_RSS_MIB = 600


@pytest.mark.parametrize("kind", NASTY)
def test_nastiest_inputs_stay_under_the_memory_bound(kind: str, tmp_path: Path):
    source, path, opts = _nasty(kind, tmp_path)
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            _CHILD,
            source,
            str(path),
            str(tmp_path / "l.duckdb"),
            json.dumps(opts),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"{kind}: exit {done.returncode}\n{done.stderr[-2000:]}"
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    peak = outcome["maxrss_kib"] / 1024
    print(f"{kind}: peak RSS {peak:.0f} MiB")
    assert peak < PEAK_RSS_MIB, f"{kind}: peak RSS {peak:.0f} MiB"
    named = outcome.get("bad", []) + ([outcome["error"]] if "error" in outcome else [])
    assert named and all(str(path) in m and "\n" not in m for m in named), outcome
