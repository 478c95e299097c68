"""The odd-ledger sweep: every command against ledgers that are empty, tiny or unusual.

Each command of the CLI (found by walking the click command tree, so a new command is
covered, or fails here until it has an entry in `CASES`) runs in process with its default
options, with ``--json``/``--csv`` where it has them and with a few options of its own,
against every ledger of `LEDGERS`. Whatever the data, a command either succeeds or stops
with one ``error:`` line (maybe a ``hint:`` line) that is not an internal error; never a
traceback, never another exit status.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from tokenstat.cli import app

from .conftest import FIXTURES

CLAUDE_CODE = FIXTURES / "sources" / "claude-code"


def _days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def _market_csv(rows: list[tuple[date, str, int, int]]) -> str:
    lines = ["date,model,input_tokens,output_tokens"]
    lines += [f"{d.isoformat()},{m},{i},{o}" for d, m, i, o in rows]
    return "\n".join(lines) + "\n"


def _weekly(models: list[str], first: date, weeks: int) -> list[tuple[date, str, int, int]]:
    return [
        (first + timedelta(weeks=w), m, 1_000_000 * (w + 1) * (k + 1), 200_000 * (w + 1))
        for w in range(weeks)
        for k, m in enumerate(models)
    ]


MARKET_MODELS = [
    "deepseek/deepseek-v3.2",
    "openai/gpt-4o",
    "anthropic/claude-sonnet-4.5",
    "qwen/qwen3-coder",
]
ISO_BOUNDARY_DAYS = [
    *_days(date(2020, 12, 21), date(2021, 1, 10)),  # 2020-W52, 2020-W53, 2021-W01
    *_days(date(2025, 12, 22), date(2026, 1, 11)),  # 2025-W52, 2026-W01, 2026-W02
]

# name -> [(importer, file name, file text) or (importer, fixture path, None)]
LEDGERS: dict[str, list[tuple[str, str | Path, str | None]]] = {
    "empty": [],
    "one-model": [
        ("market", "one.csv", _market_csv(_weekly(["deepseek/deepseek-v3.2"], date(2026, 2, 2), 6)))
    ],
    "windowed-prices": [
        (
            "market",
            "deepseek.csv",
            _market_csv(_weekly(["deepseek-chat", "deepseek-reasoner"], date(2026, 2, 2), 5)),
        )
    ],
    "market-only": [
        ("market", "market.csv", _market_csv(_weekly(MARKET_MODELS, date(2026, 1, 5), 10)))
    ],
    "requests-only": [
        ("claude-code", CLAUDE_CODE / "session.jsonl", None),
        ("claude-code", CLAUDE_CODE / "subagent-a3f9c2d1.jsonl", None),
    ],
    "unknown-models": [
        (
            "market",
            "unknown.csv",
            _market_csv(_weekly(["acme/mystery-1", "zz-unheard-of-model"], date(2026, 2, 2), 4)),
        )
    ],
    "one-day": [
        (
            "market",
            "day.csv",
            _market_csv([(date(2026, 3, 4), m, 5_000_000, 1_000_000) for m in MARKET_MODELS]),
        )
    ],
    "iso-year-boundary": [
        (
            "market",
            "boundary.csv",
            _market_csv(
                [
                    (d, m, 1_000_000 + 1000 * i, 100_000)
                    for i, d in enumerate(ISO_BOUNDARY_DAYS)
                    for m in ("deepseek/deepseek-v3.2", "openai/gpt-4o")
                ]
            ),
        )
    ],
}

CLAIMS = """\
claims:
  - id: cn-week
    text: "Chinese models processed 1T tokens"
    metric: tokens
    by: origin
    key: CN
    period: {grain: week, at: 2026-03-04}
    value: 1T
"""

# command path -> argument lists to run it with; {tmp} is a fresh folder, {claims} a claims
# file, {market} a small market CSV. The first list runs on every ledger, and so does a
# --json run where the command has --json; the other lists and a --csv run go to the ledgers
# of FULL_SWEEP (to keep the file fast).
CASES: dict[tuple[str, ...], list[list[str]]] = {
    ("summary",): [[], ["--by", "model"], ["--period", "day"], ["--metric", "cost"]],
    ("top",): [[], ["--by", "author", "--period", "month"], ["--metric", "cost"]],
    ("trend",): [[], ["--by", "model", "--period", "day"], ["--last", "1"]],
    ("lead",): [["CN", "US"], ["US", "CN", "--period", "day"]],
    ("forecast",): [[], ["--by", "model"], ["--until-reaches", "20T"]],
    ("cost",): [[], ["--by", "model", "--period", "day"], ["--mismatch"]],
    ("whatif",): [[], ["--cheapest", "3"], ["--on", "deepseek/deepseek-chat,openai/gpt-4o"]],
    ("prices",): [[], ["--models", "deepseek/deepseek-chat"]],
    ("chart",): [["trend", "--out", "{tmp}/t.json"], ["top", "--out", "{tmp}/top.json"]]
    + [[kind, "--out", f"{{tmp}}/{kind}.json"] for kind in ("share", "prices", "whatif")],
    ("report",): [["--out", "{tmp}/report.html"]],
    ("verify",): [["{claims}"]],
    # own-usage reports: --no-refresh, so that no agent log of this machine is read
    ("daily",): [["--no-refresh"], ["--no-refresh", "--by", "model", "--tz", "Asia/Shanghai"]],
    ("weekly",): [["--no-refresh"], ["--no-refresh", "--breakdown"]],
    ("monthly",): [["--no-refresh"]],
    ("session",): [["--no-refresh"], ["--no-refresh", "--order", "desc"]],
    ("blocks",): [["--no-refresh"], ["--no-refresh", "--active", "--token-limit", "1000"]],
    ("sync",): [["{tmp}/shared", "--machine", "odd"]],
    ("catalog", "authors"): [[]],
    ("catalog", "models"): [["--origin", "CN"]],
    ("catalog", "resolve"): [["deepseek-chat", "no-such-model"]],
    ("catalog", "unresolved"): [[]],
    ("ledger", "info"): [[]],
    ("ledger", "quarantine"): [[]],
    ("ledger", "imports"): [[]],
    ("ledger", "forget"): [["1", "--yes"], ["999", "--yes"]],
    ("demo",): [[]],
    ("import",): [["market", "{market}"], ["market", "{tmp}/missing.csv"]],
    ("sources",): [[]],
    # no API key in the test environment: stops before any request
    ("fetch", "openrouter-rankings"): [
        ["--start", "2026-03-01", "--base-url", "http://127.0.0.1:9"]
    ],
    # a port out of range: stops before binding (tests/web runs the server)
    ("serve",): [["--port", "0"]],
    # live receivers: they run until stopped, and tests/capture runs them against real
    # senders; an empty list is a decision, not an omission
    ("collect",): [],
    ("proxy",): [],
}
# commands whose exit 1 is a finding (a claim does not hold), printed on stdout
VERDICTS = {("verify",)}
# commands that change the ledger run on a copy of it
WRITES = {
    ("demo",),
    ("import",),
    ("ledger", "forget"),
    ("fetch", "openrouter-rankings"),
    ("sync",),
}
# commands that do not read the ledger: run against the first ledger only
LEDGER_FREE = {
    ("sources",),
    ("prices",),
    ("catalog", "authors"),
    ("catalog", "models"),
    ("catalog", "resolve"),
    ("fetch", "openrouter-rankings"),
}
# the ledgers every case runs on; the others get each command's first case (and --json)
FULL_SWEEP = ("empty", "windowed-prices", "requests-only")


def command_paths() -> list[tuple[tuple[str, ...], object]]:
    """Every leaf command of the app as (path, click command)."""
    found: list[tuple[tuple[str, ...], object]] = []

    def walk(cmd: object, path: tuple[str, ...]) -> None:
        subs = getattr(cmd, "commands", None)
        if subs:
            for name, sub in sorted(subs.items()):
                walk(sub, (*path, name))
        else:
            found.append((path, cmd))

    walk(typer.main.get_command(app), ())
    return found


def runs_of(path: tuple[str, ...], cmd: object, ledger: str) -> list[list[str]]:
    """The argument lists the command at ``path`` runs with on ``ledger`` (see `CASES`)."""
    if not CASES[path] or (path in LEDGER_FREE and ledger != next(iter(LEDGERS))):
        return []
    first, *others = (list(args) for args in CASES[path])
    options = {opt for p in cmd.params for opt in p.opts}  # type: ignore[attr-defined]
    runs = [first] + ([[*first, "--json"]] if "--json" in options else [])
    if ledger in FULL_SWEEP or path in LEDGER_FREE:
        runs += others + ([[*first, "--csv"]] if "--csv" in options else [])
    return runs


@pytest.fixture(scope="module")
def ledgers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each odd ledger built once for the module, through the real importers."""
    from tokenstat import api
    from tokenstat.catalog import shipped_catalog

    base = tmp_path_factory.mktemp("odd-ledgers")
    catalog = shipped_catalog()
    built: dict[str, Path] = {}
    for name, files in LEDGERS.items():
        folder = base / name
        folder.mkdir()
        db = folder / "ledger.duckdb"
        with api.open_ledger(db) as ledger:
            for source, file, text in files:
                if text is not None:
                    path = folder / str(file)
                    path.write_text(text)
                else:
                    path = Path(file)
                api.import_path(ledger, source, [path], catalog=catalog)
        built[name] = db
    return built


def test_every_command_has_an_entry():
    missing = [" ".join(path) for path, _ in command_paths() if path not in CASES]
    assert not missing, f"add these commands to CASES in {Path(__file__).name}: {missing}"


def check(result, path: tuple[str, ...], args: list[str]) -> str | None:
    """What is wrong with one run of the command at ``path`` (None when it behaved)."""
    shown = f"tokenstat {' '.join([*path, *args])}"
    text = result.stdout + result.stderr
    if "Traceback" in text:
        return f"{shown}: traceback in the output"
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        return f"{shown}: raised {type(result.exception).__name__}: {result.exception}"
    if result.exit_code not in (0, 1):
        return f"{shown}: exit {result.exit_code}: {result.stderr.strip()[-300:]}"
    if result.exit_code == 0:
        if "--json" in args and not _is_json(result.stdout):
            return f"{shown}: --json printed no JSON document"
        return None
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    if path in VERDICTS and result.stdout.strip() and not lines:
        return None
    errors = [line for line in lines if line.startswith("error: ")]
    if len(errors) != 1 or "internal error" in result.stderr:
        return f"{shown}: exit 1 without one clear error line: {result.stderr.strip()[-300:]}"
    after = lines[lines.index(errors[0]) + 1 :]
    if len(errors[0]) < len("error: ") + 12 or any(not a.startswith("hint: ") for a in after):
        return f"{shown}: the error does not name the problem in one line: {lines}"
    return None


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


SWEEP: dict[str, int] = {}


@pytest.fixture(scope="module", autouse=True)
def sweep_size() -> Iterator[None]:
    """Print the size of the sweep when the module is done (``pytest -s`` shows it)."""
    yield
    commands = sum(1 for path, _ in command_paths() if path in CASES)
    print(
        f"\nodd-ledger sweep: {commands} commands x {len(SWEEP)} ledgers, "
        f"{sum(SWEEP.values())} runs"
    )


@pytest.mark.parametrize("name", list(LEDGERS))
def test_every_command_on_an_odd_ledger(name: str, ledgers: dict[str, Path], tmp_path: Path):
    runner = CliRunner()
    claims = tmp_path / "claims.yaml"
    claims.write_text(CLAIMS)
    market = tmp_path / "extra.csv"
    market.write_text(_market_csv([(date(2026, 3, 2), "openai/gpt-4o", 1000, 10)]))
    problems: list[str] = []
    runs = 0
    timings: list[tuple[float, str]] = []
    started = time.perf_counter()
    for path, cmd in command_paths():
        if path not in CASES:
            continue  # test_every_command_has_an_entry names it
        for n, args in enumerate(runs_of(path, cmd, name)):
            out = tmp_path / f"{'-'.join(path)}-{n}"
            out.mkdir()
            db = ledgers[name]
            if path in WRITES:
                db = out / "ledger.duckdb"
                shutil.copy(ledgers[name], db)
            filled = [
                a.replace("{tmp}", str(out))
                .replace("{claims}", str(claims))
                .replace("{market}", str(market))
                for a in args
            ]
            full = ["--db", str(db), *path, *filled]
            begun = time.perf_counter()
            result = runner.invoke(app, full, catch_exceptions=True)
            timings.append((time.perf_counter() - begun, " ".join([*path, *args])))
            runs += 1
            problem = check(result, path, args)
            if problem:
                problems.append(problem)
    SWEEP[name] = runs
    elapsed = time.perf_counter() - started
    slowest = ", ".join(f"{what} {t:.2f} s" for t, what in sorted(timings)[-4:])
    print(f"odd ledger {name}: {runs} runs in {elapsed:.1f} s (slowest: {slowest})")
    assert not problems, f"on the {name!r} ledger:\n" + "\n".join(problems)
