"""tokenstat vs ccusage on a synthetic Claude Code log tree: time, peak memory, agreement.

What one run measures (each command in its own process, wall time and peak resident
memory of the process tree, best and median of ``--repeat`` runs):

1. ccusage ``daily --json --offline`` and ``claude daily --json --offline`` on the tree
   (``CLAUDE_CONFIG_DIR`` = the tree, ``TZ=UTC``, an empty ``HOME``);
2. tokenstat's first import and a daily report, twice: as the CLI a person runs
   (``tokenstat import claude-code`` then ``tokenstat trend --period day --by source
   --json``: interpreter start-up included) and inside one Python process
   (``tokenstat.api.import_path`` + ``api.trend``: start-up and module import excluded);
3. after appending one new session file: tokenstat's incremental import + the same report,
   against ccusage reading the whole tree again;
4. agreement: every day's input, output, cache-read and cache-write tokens in the ledger
   against ccusage's (whose input excludes cache, so ledger input - cache reads - cache
   writes is compared with ccusage's input);
5. ``tokenstat daily --json`` as ONE command in a fresh process (it reads new logs itself)
   against ``ccusage daily --json --offline``: first run on an empty ledger, a repeat run
   with nothing new, and a run after one new session; every day's tokens per kind must
   equal ccusage's, and every day whose cost differs by more than 1% is listed
   (``--only daily`` runs just this part).

The tree comes from ``generate_claude_logs.py`` (generated when missing) and is copied
to a work directory, so the appended sessions do not change it. ccusage is taken from
``PATH``, else installed from npm into ``benchmarks/.tools`` (git ignores it).

Usage::

    python benchmarks/bench_ccusage.py                 # default tree (about 420 MB)
    python benchmarks/bench_ccusage.py --repeat 5 --json results.json
    python benchmarks/bench_ccusage.py --projects 2 --sessions 5   # a quick small run
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TOOLS = HERE / ".tools"
DATA = HERE / "data"
CCUSAGE_VERSION = "20.0.24"

sys.path.insert(0, str(HERE))
import generate_claude_logs  # noqa: E402


@dataclass
class Timing:
    """Runs of one measured command."""

    label: str
    seconds: list[float] = field(default_factory=list)
    peak_mb: list[float] = field(default_factory=list)

    def add(self, seconds: float, peak_mb: float) -> None:
        self.seconds.append(seconds)
        self.peak_mb.append(peak_mb)

    @property
    def best(self) -> float:
        return min(self.seconds)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def peak(self) -> float:
        return max(self.peak_mb)


def run(cmd: list[str], env: dict[str, str], stdout: Path | None = None) -> tuple[float, float]:
    """Run ``cmd``; (wall seconds, peak resident MB of it and the processes it waited for)."""
    out = open(stdout, "wb") if stdout else subprocess.DEVNULL  # noqa: SIM115
    try:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.PIPE)
        assert proc.stderr is not None
        errors = proc.stderr.read()
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
    finally:
        if stdout:
            out.close()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{errors.decode(errors='replace')[-2000:]}")
    return seconds, usage.ru_maxrss / 1024  # KiB on Linux


def find_ccusage(version: str) -> str:
    on_path = shutil.which("ccusage")
    if on_path:
        return on_path
    local = TOOLS / "node_modules" / ".bin" / "ccusage"
    if not local.exists():
        npm = shutil.which("npm")
        if npm is None:
            raise SystemExit("ccusage is not on PATH and npm is missing: install ccusage first")
        print(f"installing ccusage {version} into {TOOLS}", file=sys.stderr)
        TOOLS.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                npm,
                "install",
                "--prefix",
                str(TOOLS),
                "--no-audit",
                "--no-fund",
                f"ccusage@{version}",
            ],
            check=True,
        )
    return str(local)


def tokenstat_cli() -> list[str]:
    found = shutil.which("tokenstat", path=str(Path(sys.executable).parent))
    return [found] if found else [sys.executable, "-m", "tokenstat.cli"]


IN_PROCESS = """
import json, sys, time
from tokenstat import api
from tokenstat.catalog import load_catalog
db, tree, warm = sys.argv[1], sys.argv[2], sys.argv[3] == "warm"
catalog = load_catalog()
if warm:  # a process that already serves reports sees a new session appear
    ledger = api.open_ledger(db)
    api.trend(ledger, by="source", grain="day", last=400)
    sys.path.insert(0, sys.argv[4])
    import generate_claude_logs
    generate_claude_logs.append_session(__import__("pathlib").Path(tree).parent, 200, 7)
    started = time.perf_counter()
else:
    started = time.perf_counter()
    ledger = api.open_ledger(db)
result = api.import_path(ledger, "claude-code", [tree], catalog=catalog)
imported = time.perf_counter()
api.trend(ledger, by="source", grain="day", last=400)
done = time.perf_counter()
ledger.close()
print(json.dumps({"import": imported - started, "total": done - started,
                  "files_read": result.files_read, "rows_new": result.rows_new}))
"""


def in_process(
    db: Path, tree: Path, env: dict[str, str], warm: bool = False
) -> tuple[float, float, dict]:
    """Import + report inside one interpreter; (seconds measured inside, peak MB, facts).
    Cold: the ledger is opened inside the measured time. Warm: a process that has the
    ledger open and has run a report appends a new session, then imports and reports."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        out = Path(handle.name)
    mode = "warm" if warm else "cold"
    try:
        cmd = [sys.executable, "-c", IN_PROCESS, str(db), str(tree / "projects"), mode, str(HERE)]
        _, peak = run(cmd, env, out)
        facts = json.loads(out.read_text().strip().splitlines()[-1])
    finally:
        out.unlink(missing_ok=True)
    return facts["total"], peak, facts


def ledger_days(db: Path) -> dict[str, dict[str, int]]:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute(
            """SELECT strftime(day, '%Y-%m-%d'), sum(input_tokens), sum(output_tokens),
                      sum(cache_read_tokens), sum(cache_write_tokens)
               FROM usage_daily WHERE source = 'claude-code' GROUP BY day ORDER BY day"""
        ).fetchall()
    finally:
        con.close()
    return {
        d: {
            "input": int(i) - int(r) - int(w),  # ccusage's input excludes cache
            "output": int(o),
            "cache_read": int(r),
            "cache_write": int(w),
        }
        for d, i, o, r, w in rows
    }


def ccusage_days(path: Path) -> dict[str, dict[str, int]]:
    report = json.loads(path.read_text())
    return {
        day.get("date") or day["period"]: {
            "input": day["inputTokens"],
            "output": day["outputTokens"],
            "cache_read": day["cacheReadTokens"],
            "cache_write": day["cacheCreationTokens"],
        }
        for day in report["daily"]
    }


def compare(ours: dict, theirs: dict) -> list[str]:
    problems = []
    for day in sorted(set(ours) | set(theirs)):
        if ours.get(day) != theirs.get(day):
            problems.append(f"{day}: tokenstat {ours.get(day)} vs ccusage {theirs.get(day)}")
    return problems


def daily_days(path: Path) -> dict[str, dict[str, Any]]:
    """tokenstat daily --json, per day, in ccusage's terms (input without cache)."""
    report = json.loads(path.read_text())
    return {
        row["start"]: {
            "input": row["input_tokens"] - row["cache_read_tokens"] - row["cache_write_tokens"],
            "output": row["output_tokens"],
            "cache_read": row["cache_read_tokens"],
            "cache_write": row["cache_write_tokens"],
            "cost": row["cost"],
        }
        for row in report["rows"]
    }


def ccusage_costs(path: Path) -> dict[str, float]:
    days = json.loads(path.read_text())["daily"]
    return {day.get("date") or day["period"]: day["totalCost"] for day in days}


def cost_differences(ours: dict, theirs: dict[str, float], tolerance: float = 0.01) -> list[str]:
    out = []
    for day in sorted(set(ours) | set(theirs)):
        a, b = (ours.get(day) or {}).get("cost"), theirs.get(day)
        if a is None or b is None or abs(a - b) > tolerance * max(abs(b), 1e-12):
            out.append(f"{day}: tokenstat ${a} vs ccusage ${b}")
    return out


def bench_daily(ccusage: str, tree: Path, env: dict, work: Path, repeat: int, messages: int):
    """`tokenstat daily --json` vs `ccusage daily --json --offline`, each one command in a
    fresh process: (timings, token disagreements, cost differences over 1%)."""
    t: dict[str, Timing] = {}
    db = work / "daily.duckdb"
    ours, theirs = work / "tokenstat-daily.json", work / "ccusage-daily.json"
    daily = [*tokenstat_cli(), "--db", str(db), "daily", "--json", "--tz", "UTC"]
    cc = [ccusage, "daily", "--json", "--offline"]
    for _ in range(repeat):
        t.setdefault("cc", Timing("ccusage daily --json --offline")).add(*run(cc, env, theirs))
        db.unlink(missing_ok=True)
        t.setdefault("first", Timing("tokenstat daily --json, empty ledger")).add(
            *run(daily, env, ours)
        )
        t.setdefault("again", Timing("tokenstat daily --json, nothing new")).add(
            *run(daily, env, ours)
        )
    problems = compare(
        {d: {k: v for k, v in x.items() if k != "cost"} for d, x in daily_days(ours).items()},
        ccusage_days(theirs),
    )
    for n in range(repeat):
        generate_claude_logs.append_session(tree, messages, 2000 + n)
        t.setdefault("cc_new", Timing("ccusage daily, after one new session")).add(
            *run(cc, env, theirs)
        )
        t.setdefault("new", Timing("tokenstat daily --json, after one new session")).add(
            *run(daily, env, ours)
        )
    problems += compare(
        {d: {k: v for k, v in x.items() if k != "cost"} for d, x in daily_days(ours).items()},
        ccusage_days(theirs),
    )
    return t, problems, cost_differences(daily_days(ours), ccusage_costs(theirs))


def daily_lines(t: dict[str, Timing], problems: list[str], costs: list[str]) -> list[str]:
    cc, cc_new = t["cc"].best, t["cc_new"].best
    rows = [
        ("first run, empty ledger (<= 1.0x)", t["first"], cc, False),
        ("repeat run, nothing new (>= 5x faster)", t["again"], cc, True),
        ("after one new session (>= 5x faster)", t["new"], cc_new, True),
    ]
    lines = [
        "",
        "`tokenstat daily --json` against `ccusage daily --json --offline`, one command each, "
        "fresh process:",
        "",
        "| run | tokenstat, s | ccusage, s | ratio | tokenstat peak MB |",
        "|---|---|---|---|---|",
    ]
    for label, timing, theirs, faster in rows:
        ratio = f"{theirs / timing.best:.1f}x faster" if faster else f"{timing.best / theirs:.2f}x"
        lines.append(
            f"| {label} | {timing.best:.2f} ({timing.median:.2f}) | {theirs:.2f} | {ratio} | "
            f"{timing.peak:.0f} |"
        )
    lines.append(
        f"Tokens per kind equal to ccusage's on every day: {'yes' if not problems else 'NO'}; "
        f"days whose cost differs by more than 1%: {len(costs)}."
    )
    lines += [f"- {p}" for p in (problems + costs)[:20]]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="a Claude Code tree (default: generated)")
    parser.add_argument("--projects", type=int, default=50)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--ccusage-version", default=CCUSAGE_VERSION)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--only", choices=["daily"], help="run only the `daily` comparison")
    args = parser.parse_args(argv)

    source = args.data
    if source is None:
        source = DATA / f"claude-logs-{args.projects}x{args.sessions}x{args.messages}"
        if args.projects == 50 and args.sessions == 20 and args.messages == 200:
            source = DATA / "claude-logs"
        if not (source / "projects").is_dir():
            generate_claude_logs.generate(
                source,
                args.projects,
                args.sessions,
                args.messages,
                generate_claude_logs.DEFAULT_SEED,
            )
    ccusage = find_ccusage(args.ccusage_version)
    work = Path(tempfile.mkdtemp(prefix="bench-ccusage-", dir=DATA if DATA.is_dir() else None))
    tree, home, db = work / "tree", work / "home", work / "ledger.duckdb"
    shutil.copytree(source, tree)
    home.mkdir()
    size = sum(p.stat().st_size for p in tree.rglob("*.jsonl"))
    files = sum(1 for _ in tree.rglob("*.jsonl"))
    env = {
        **os.environ,
        "TZ": "UTC",
        "HOME": str(home),
        "CLAUDE_CONFIG_DIR": str(tree),
        "NO_COLOR": "1",
        "TOKENSTAT_CATALOG": str(home / "no-user-catalog.yaml"),
    }
    env.pop("XDG_CONFIG_HOME", None)
    cli = tokenstat_cli()
    report_cmd = [*cli, "--db", str(db), "trend", "--period", "day", "--by", "source",
                  "--last", "400", "--json"]  # fmt: skip
    t: dict[str, Timing] = {}

    def timing(key: str, label: str) -> Timing:
        return t.setdefault(key, Timing(label))

    print(f"tree: {files} files, {size / 1e6:.0f} MB; {args.repeat} runs each", file=sys.stderr)
    if args.only == "daily":
        try:
            daily_t, problems, costs = bench_daily(
                ccusage, tree, env, work, args.repeat, args.messages
            )
        finally:
            if not os.environ.get("BENCH_KEEP_WORK"):
                shutil.rmtree(work, ignore_errors=True)
        print(f"Tree: {files} files, {size / 1e6:.0f} MB. Best (median) of {args.repeat} runs.")
        print("\n".join(daily_lines(daily_t, problems, costs)))
        return 0 if not problems else 1
    try:
        cc_daily = work / "ccusage-claude-daily.json"
        for _ in range(args.repeat):
            timing("cc_all", "ccusage daily --json --offline").add(
                *run([ccusage, "daily", "--json", "--offline"], env)
            )
            timing("cc_claude", "ccusage claude daily --json --offline").add(
                *run([ccusage, "claude", "daily", "--json", "--offline"], env, cc_daily)
            )
            db.unlink(missing_ok=True)
            timing("ts_cli_import", "tokenstat import claude-code (CLI)").add(
                *run([*cli, "--db", str(db), "import", "claude-code", "--json"], env)
            )
            timing("ts_cli_report", "tokenstat trend --period day (CLI)").add(*run(report_cmd, env))
            db.unlink(missing_ok=True)
            seconds, peak, _ = in_process(db, tree, env)
            timing("ts_api_first", "tokenstat import + report (in process)").add(seconds, peak)
        first_agree = compare(ledger_days(db), ccusage_days(cc_daily))

        for n in range(args.repeat):
            before = set(tree.rglob("*.jsonl"))
            new = generate_claude_logs.append_session(tree, args.messages, 1000 + n)
            added = len(set(tree.rglob("*.jsonl")) - before)
            timing("cc_all_again", "ccusage daily, after one new session").add(
                *run([ccusage, "daily", "--json", "--offline"], env)
            )
            timing("cc_claude_again", "ccusage claude daily, after one new session").add(
                *run([ccusage, "claude", "daily", "--json", "--offline"], env, cc_daily)
            )
            saved = work / "before.duckdb"
            shutil.copy(db, saved)
            timing("ts_cli_inc_import", "tokenstat import claude-code, incremental (CLI)").add(
                *run([*cli, "--db", str(db), "import", "claude-code", "--json"], env)
            )
            timing("ts_cli_inc_report", "tokenstat trend --period day (CLI)").add(
                *run(report_cmd, env)
            )
            shutil.copy(saved, db)
            seconds, peak, facts = in_process(db, tree, env)
            assert facts["files_read"] == added, facts
            timing("ts_api_inc", "tokenstat incremental import + report (in process)").add(
                seconds, peak
            )
            seconds, peak, facts = in_process(db, tree, env, warm=True)
            timing("ts_warm_inc", "same, in a process with the ledger open (warm)").add(
                seconds, peak
            )
            print(f"appended {new.name}", file=sys.stderr)
        run([ccusage, "claude", "daily", "--json", "--offline"], env, cc_daily)  # all sessions
        again_agree = compare(ledger_days(db), ccusage_days(cc_daily))
        daily_t, daily_problems, daily_costs = bench_daily(
            ccusage, tree, env, work, args.repeat, args.messages
        )
    finally:
        keep = os.environ.get("BENCH_KEEP_WORK")
        if not keep:
            shutil.rmtree(work, ignore_errors=True)

    cli_first = t["ts_cli_import"].best + t["ts_cli_report"].best
    cli_inc = t["ts_cli_inc_import"].best + t["ts_cli_inc_report"].best
    figures = {
        "tree": {"files": files, "bytes": size},
        "runs": args.repeat,
        "timings": {
            k: {"label": v.label, "best_s": v.best, "median_s": v.median, "peak_mb": v.peak}
            for k, v in t.items()
        },
        "agreement": {"first": first_agree, "after_new_session": again_agree},
    }
    lines = [
        f"Tree: {files} files, {size / 1e6:.0f} MB. Best (median) of {args.repeat} runs; "
        "peak = resident memory of the process tree.",
        "",
        "| step | wall time, s | peak memory, MB |",
        "|---|---|---|",
    ]
    for v in t.values():
        lines.append(f"| {v.label} | {v.best:.2f} ({v.median:.2f}) | {v.peak:.0f} |")
    cc_first, cc_claude = t["cc_all"].best, t["cc_claude"].best
    cc_again, cc_claude_again = t["cc_all_again"].best, t["cc_claude_again"].best
    api_first, api_inc = t["ts_api_first"].best, t["ts_api_inc"].best
    warm_inc = t["ts_warm_inc"].best
    lines += [
        "",
        "| target | tokenstat | ccusage daily | ccusage claude daily |",
        "|---|---|---|---|",
        f"| first import + report, CLI (<= 1.5x) | {cli_first:.2f} s | "
        f"{cli_first / cc_first:.2f}x | {cli_first / cc_claude:.2f}x |",
        f"| first import + report, in process (<= 1.5x) | {api_first:.2f} s | "
        f"{api_first / cc_first:.2f}x | {api_first / cc_claude:.2f}x |",
        f"| incremental import + report, CLI (>= 10x faster) | {cli_inc:.2f} s | "
        f"{cc_again / cli_inc:.1f}x faster | {cc_claude_again / cli_inc:.1f}x faster |",
        f"| incremental import + report, in process (>= 10x faster) | {api_inc:.2f} s | "
        f"{cc_again / api_inc:.1f}x faster | {cc_claude_again / api_inc:.1f}x faster |",
        f"| incremental import + report, warm process (>= 10x faster) | {warm_inc:.2f} s | "
        f"{cc_again / warm_inc:.1f}x faster | {cc_claude_again / warm_inc:.1f}x faster |",
        "",
        "Daily totals (input, output, cache reads, cache writes) identical to ccusage on every "
        f"day: first import {'yes' if not first_agree else 'NO'}, after the new sessions "
        f"{'yes' if not again_agree else 'NO'}.",
    ]
    for problem in (first_agree + again_agree)[:20]:
        lines.append(f"- {problem}")
    lines += daily_lines(daily_t, daily_problems, daily_costs)
    figures["daily"] = {
        "timings": {
            k: {"label": v.label, "best_s": v.best, "peak_mb": v.peak} for k, v in daily_t.items()
        },
        "token_disagreements": daily_problems,
        "cost_differences": daily_costs,
    }
    print("\n".join(lines))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0 if not (first_agree or again_agree or daily_problems) else 1


if __name__ == "__main__":
    raise SystemExit(main())
