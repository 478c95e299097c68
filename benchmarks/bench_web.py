"""Report and dashboard benchmark: `tokenstat report` and the dashboard's JSON API on a
large ledger.

- ``report``: ``tokenstat report --out report.html`` end to end in a fresh process
  (interpreter start, every section, charts, writing the file); target under 60 s on
  100M rows;
- ``api``: each dashboard answer for a year of weekly data (``period=week``, ``last=52``)
  through the real application (`tokenstat.web.app.create_app`, in process over ASGI),
  first answer (nothing cached) and the same request again (cached); target under 2 s
  for every first answer.

The ledger: ``--ledger PATH``, else the one `bench_ledger.py` leaves in
``benchmarks/data/work-<rows>/ledger.duckdb``, else one built here from
`generate_usage.py`'s Parquet files (generated when missing) in
``benchmarks/data/web-<rows>/ledger.duckdb``.

Usage::

    python benchmarks/bench_web.py                    # 100M rows
    python benchmarks/bench_web.py --rows 10000000    # a quicker run
    python benchmarks/bench_web.py --ledger path/to/ledger.duckdb
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import generate_usage  # noqa: E402

REPORT_TARGET_S = 60.0
API_TARGET_S = 2.0
YEAR = "period=week&last=52"
ENDPOINTS = [
    ("summary by origin", f"/api/summary?by=origin&{YEAR}"),
    ("summary by model", f"/api/summary?by=model&{YEAR}"),
    ("top 10 models", f"/api/top?by=model&limit=10&{YEAR}"),
    ("trend by origin, 52 weeks", f"/api/trend?by=origin&{YEAR}"),
    ("trend by model, 52 weeks", f"/api/trend?by=model&{YEAR}"),
    ("lead (top two origins)", f"/api/lead?by=origin&{YEAR}"),
    ("share shift, 52 weeks", f"/api/shift?by=origin&{YEAR}"),
    ("chart: trend", f"/api/chart/trend?by=origin&{YEAR}"),
    ("chart: share", f"/api/chart/share?by=author&{YEAR}"),
    ("chart: top", f"/api/chart/top?by=model&{YEAR}"),
    ("summary by app", f"/api/summary?by=app&{YEAR}"),
    ("prices of the top models", f"/api/prices?baseline=openai/gpt-4o&{YEAR}"),
    ("forecast, all tokens", f"/api/forecast?{YEAR}"),
    ("whole report (JSON)", f"/api/report?{YEAR}"),
]


def find_or_build_ledger(rows: int, seed: int, given: Path | None) -> Path:
    if given:
        return given
    from tokenstat import api

    for candidate in (
        HERE / "data" / f"work-{rows}" / "ledger.duckdb",
        HERE / "data" / f"web-{rows}" / "ledger.duckdb",
    ):
        if complete_ledger(candidate, rows):
            return candidate
    ours = HERE / "data" / f"web-{rows}" / "ledger.duckdb"
    for leftover in (ours, ours.with_name(ours.name + ".wal")):
        leftover.unlink(missing_ok=True)

    data = generate_usage.ensure(rows, seed)
    files = sorted((data / "main").glob("*.parquet"))
    ours.parent.mkdir(parents=True, exist_ok=True)
    print(f"importing {len(files)} files ({rows:,} rows) into {ours} ...", flush=True)
    started = time.perf_counter()
    with api.open_ledger(ours) as ledger:
        api.import_path(ledger, "market", files)
    print(f"imported in {time.perf_counter() - started:.0f} s", flush=True)
    return ours


def complete_ledger(path: Path, rows: int) -> bool:
    """Whether ``path`` is a ledger that can be read now and holds ``rows`` rows (another
    run may be writing it, or may have stopped half way)."""
    if not path.exists():
        return False
    from tokenstat import api
    from tokenstat.errors import LedgerError

    try:
        with api.open_ledger(path, read_only=True) as ledger:
            return ledger.row_count() >= rows
    except LedgerError:
        return False


def time_report(ledger: Path) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.html"
        started = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-c",
                "from tokenstat.cli import main; main()",
                "--db",
                str(ledger),
                "report",
                "--out",
                str(out),
                "--period",
                "week",
                "--last",
                "52",
                "--baseline",
                "openai/gpt-4o",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return time.perf_counter() - started, out.stat().st_size


def time_api(ledger: Path) -> list[tuple[str, int, float, float]]:
    from fastapi.testclient import TestClient

    from tokenstat.web.app import create_app

    out = []
    # as a server runs it: start-up (the forecast library preloads in the background)
    with TestClient(create_app(ledger)) as client:
        client.get("/api/meta")  # imports, catalog: once per server
        for name, url in ENDPOINTS:
            started = time.perf_counter()
            status = client.get(url).status_code
            first = time.perf_counter() - started
            started = time.perf_counter()
            client.get(url)
            again = time.perf_counter() - started
            out.append((name, status, first, again))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000_000)
    parser.add_argument("--seed", type=int, default=generate_usage.DEFAULT_SEED)
    parser.add_argument("--ledger", type=Path, default=None)
    parser.add_argument("--skip-report", action="store_true")
    args = parser.parse_args(argv)

    ledger = find_or_build_ledger(args.rows, args.seed, args.ledger)
    from tokenstat import api

    with api.open_ledger(ledger, read_only=True) as opened:
        rows = opened.row_count()
        daily = opened.db.execute("SELECT count(*) FROM usage_daily").fetchone()[0]
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(
        f"ledger: {rows:,} rows in usage, {daily:,} rows in the daily rollup, "
        f"{ledger.stat().st_size / 1024**3:.1f} GiB"
    )
    ok = True
    if not args.skip_report:
        seconds, size = time_report(ledger)
        good = seconds < REPORT_TARGET_S
        ok &= good
        print(
            f"\ntokenstat report --out report.html: {seconds:.1f} s "
            f"({size / 1024**2:.1f} MiB file) target < {REPORT_TARGET_S:.0f} s: "
            f"{'ok' if good else 'MISSED'}"
        )
    print(f"\n{'dashboard API answer':<32} {'status':>6} {'first':>9} {'cached':>9}")
    for name, status, first, again in time_api(ledger):
        good = status == 200 and first < API_TARGET_S
        ok &= good
        print(f"{name:<32} {status:>6} {first:>8.2f}s {again:>8.3f}s{'' if good else '  MISSED'}")
    print(
        f"\ntargets: report < {REPORT_TARGET_S:.0f} s, every first answer < "
        f"{API_TARGET_S:.0f} s: {'all met' if ok else 'NOT all met'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
