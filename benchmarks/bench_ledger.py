"""Ledger benchmark: import 100M market rows, then time the reports against the baselines.

One run prints one table; every figure stands next to a baseline measured in the same run
(the machine may be shared, so absolute times move between runs, ratios much less):

- import: ``tokenstat`` import of the Parquet files (the real code path:
  `tokenstat.api.import_path` with the ``market`` importer) next to a plain DuckDB
  ``CREATE TABLE AS SELECT * FROM read_parquet(...)`` of the same files, and next to
  DuckDB alone writing the same canonical rows into a ledger table (SQL from the files:
  what storing them costs, without checks, duplicate check or rollup);
- idempotency at scale: the same files again (skipped by content hash), the same rows
  again with the file hashes forgotten (every row re-read and found a duplicate), and
  an overlapping file (two months again plus one new month: exactly the new month lands);
- reports: ``summary --by origin --period week`` and ``top --by model`` through
  `tokenstat.api.dataset` and `tokenstat.metrics.reports` (first run in a fresh process,
  then the median of warm runs) next to the same aggregation written by hand as DuckDB
  SQL over the raw ``usage`` rows, as Polars (streaming engine) over the Parquet files,
  and as pandas over a 10M-row sample (time scaled to the full row count);
- peak memory: every phase runs in its own process and reports its peak RSS;
- correctness: the reports' weekly totals equal the hand-written SQL's.

Usage::

    python benchmarks/bench_ledger.py                  # 100M rows (generated if missing)
    python benchmarks/bench_ledger.py --rows 2000000   # a quick run
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import generate_usage  # noqa: E402

GIB = 1024**3
PANDAS_SAMPLE_ROWS = 10_000_000
TARGET_IMPORT_RATIO = 2.0
TARGET_REPORT_SECONDS = 0.5
TARGET_REPORT_SPEEDUP = 3.0
TARGET_PEAK_BYTES = 4 * GIB
TOP_LIMIT = 10

PHASES = (
    "ctas",
    "floor",
    "import",
    "report-summary",
    "report-top",
    "sql",
    "polars",
    "pandas",
    "twice",
    "reread",
    "overlap",
)
OPTIONAL_PHASES = ("floor", "sql", "polars", "pandas", "twice", "reread", "overlap")


# ---- helpers used inside phases ----------------------------------------------------------


def peak_rss() -> int:
    """Peak resident memory of this process, bytes (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def main_files(data: Path) -> list[Path]:
    manifest = json.loads((data / "manifest.json").read_text())
    return [data / f["path"] for f in manifest["files"]]


def report_week(data: Path) -> date:
    """The week the reports pick: the latest complete ISO week of the data."""
    last = date.fromisoformat(json.loads((data / "manifest.json").read_text())["last_day"])
    monday = last - timedelta(days=last.weekday())
    return monday if monday + timedelta(days=6) <= last else monday - timedelta(days=7)


def timed(fn: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def median_of(fn: Any, runs: int) -> tuple[float, list[float], Any]:
    times = []
    value = None
    for _ in range(runs):
        seconds, value = timed(fn)
        times.append(seconds)
    return statistics.median(times), times, value


def origin_table(ledger: Any) -> Any:
    """model -> origin for the models in the ledger (the same attribution reports use)."""
    from tokenstat.catalog import shipped_catalog

    catalog = shipped_catalog()
    table = catalog.attribution_table(ledger.models_in_use(), ledger.model_overrides())
    return table.select(["model", "origin"])


def weekly_pairs(rows: list[dict], key: str = "origin") -> dict[str, int]:
    """{"week|key": tokens} without zero cells (JSON-friendly)."""
    return {f"{r['week']}|{r[key]}": int(r["tokens"]) for r in rows if int(r["tokens"])}


# ---- phases (each runs in its own process) -----------------------------------------------


def phase_ctas(args: argparse.Namespace) -> dict:
    import duckdb

    files = [str(f) for f in main_files(args.data)]
    target = args.work / "ctas.duckdb"
    target.unlink(missing_ok=True)
    start = time.perf_counter()
    con = duckdb.connect(str(target))
    con.execute("CREATE TABLE usage AS SELECT * FROM read_parquet(?)", [files])
    rows = con.execute("SELECT count(*) FROM usage").fetchone()[0]
    con.close()
    seconds = time.perf_counter() - start
    size = target.stat().st_size
    target.unlink()
    return {"seconds": seconds, "rows": rows, "peak": peak_rss(), "db_bytes": size}


def phase_floor(args: argparse.Namespace) -> dict:
    """DuckDB alone writing what the import writes: the same canonical rows (event id,
    key, day, ...) into a fresh ledger's ``usage`` table, in one transaction, computed in
    SQL from the Parquet files; no validation, no duplicate check, no rollup."""
    from tokenstat.ledger import Ledger

    files = [str(f) for f in main_files(args.data)]
    target = args.work / "floor.duckdb"
    for suffix in ("", ".wal"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    start = time.perf_counter()
    ledger = Ledger.open(target)
    ledger.db.execute("BEGIN TRANSACTION")
    ledger.db.execute(
        """INSERT INTO usage
           SELECT event_id, date::TIMESTAMP AT TIME ZONE 'UTC', 'day', 'market', model, model,
                  provider, app, NULL, NULL, NULL, input_tokens, 0, 0, output_tokens, 0,
                  requests, NULL, date, hash(event_id), 1
           FROM (SELECT *, concat_ws('|', 'market', date::VARCHAR, 'day', model,
                                     coalesce(provider, ''), coalesce(app, '')) AS event_id
                 FROM read_parquet(?))""",
        [files],
    )
    ledger.db.execute("COMMIT")
    rows = ledger.row_count()
    ledger.close()
    seconds = time.perf_counter() - start
    size = target.stat().st_size
    target.unlink()
    return {"seconds": seconds, "rows": rows, "peak": peak_rss(), "db_bytes": size}


def _import(args: argparse.Namespace, files: list[Path]) -> dict:
    from tokenstat import api
    from tokenstat.catalog import shipped_catalog

    catalog = shipped_catalog()
    start = time.perf_counter()
    with api.open_ledger(args.work / "ledger.duckdb") as ledger:
        result = api.import_path(ledger, "market", files, catalog=catalog)
        imported = time.perf_counter() - start
        rows, rolled = ledger.db.execute(
            "SELECT (SELECT count(*) FROM usage), (SELECT sum(rows) FROM usage_daily)"
        ).fetchone()
        daily_rows = ledger.db.execute("SELECT count(*) FROM usage_daily").fetchone()[0]
    seconds = time.perf_counter() - start  # includes closing (checkpoint)
    return {
        "seconds": seconds,
        "import_seconds": imported,
        "files_read": result.files_read,
        "files_skipped": result.files_skipped,
        "rows_read": result.rows_read,
        "rows_new": result.rows_new,
        "rows_duplicate": result.rows_duplicate,
        "rows_bad": result.rows_bad,
        "ledger_rows": rows,
        "rollup_rows": int(rolled or 0),
        "usage_daily_rows": daily_rows,
        "db_bytes": (args.work / "ledger.duckdb").stat().st_size,
        "peak": peak_rss(),
    }


def phase_import(args: argparse.Namespace) -> dict:
    for suffix in ("", ".wal"):
        Path(f"{args.work / 'ledger.duckdb'}{suffix}").unlink(missing_ok=True)
    return _import(args, main_files(args.data))


def phase_twice(args: argparse.Namespace) -> dict:
    return _import(args, main_files(args.data))


def phase_reread(args: argparse.Namespace) -> dict:
    """The same rows again from files the ledger has not seen (files with other bytes
    would do the same): the ledger forgets the files' hashes first, so every row is read
    and goes through the row-level duplicate check. The import records the files again."""
    from tokenstat import api

    with api.open_ledger(args.work / "ledger.duckdb") as ledger:
        ledger.db.execute("DELETE FROM import_files")
    return _import(args, main_files(args.data))


def phase_overlap(args: argparse.Namespace) -> dict:
    manifest = json.loads((args.data / "manifest.json").read_text())
    out = _import(args, [args.data / manifest["overlap"]["path"]])
    out["expected_new"] = manifest["overlap"]["new_rows"]
    out["expected_duplicate"] = manifest["overlap"]["repeated_rows"]
    out["expected_ledger_rows"] = manifest["rows"] + manifest["overlap"]["new_rows"]
    return out


def _report(kind: str, ds: Any) -> dict:
    from tokenstat.metrics import reports

    if kind == "summary":
        return reports.summary(ds, by="origin", grain="week")
    return reports.top(ds, by="model", grain="week", limit=TOP_LIMIT)


def phase_report(args: argparse.Namespace, kind: str) -> dict:
    from tokenstat import api
    from tokenstat.catalog import shipped_catalog
    from tokenstat.metrics import reports

    path = args.work / "ledger.duckdb"

    def cold_run() -> tuple[Any, dict]:
        ledger = api.open_ledger(path, read_only=True)
        ds = api.dataset(ledger, shipped_catalog())
        return ledger, _report(kind, ds)

    cold, (ledger, report) = timed(cold_run)
    catalog = shipped_catalog()
    warm, times, _ = median_of(lambda: _report(kind, api.dataset(ledger, catalog)), args.runs)
    out: dict[str, Any] = {"cold": cold, "warm": warm, "times": times, "peak": peak_rss()}
    out["period"] = report["period"]
    if kind == "summary":
        out["groups"] = {g["key"]: [g["tokens"], g["previous"]] for g in report["groups"]}
        # every week by origin, for the correctness check (not timed)
        trend = reports.trend(api.dataset(ledger, catalog), by="origin", grain="week", last=1000)
        out["weekly"] = {
            f"{r['start']}|{r['key']}": r["tokens"] for r in trend["rows"] if r["tokens"]
        }
    else:
        out["rows"] = [[r["key"], r["tokens"]] for r in report["rows"]]
    ledger.close()
    return out


def _sql_weekly(by: str) -> str:
    join = "LEFT JOIN origins o USING (model)" if by == "origin" else ""
    key = "coalesce(o.origin, 'unknown')" if by == "origin" else "u.model"
    return f"""
        SELECT week, key, tokens,
               tokens / sum(tokens) OVER (PARTITION BY week) AS share,
               rank() OVER (PARTITION BY week ORDER BY tokens DESC) AS rank
        FROM (
            SELECT CAST(date_trunc('week', u.day) AS DATE) AS week, {key} AS key,
                   sum(u.input_tokens + u.output_tokens) AS tokens
            FROM usage u {join}
            GROUP BY ALL)"""


def phase_sql(args: argparse.Namespace) -> dict:
    """The reports' aggregations written by hand over the raw ``usage`` rows."""
    from tokenstat import api

    with api.open_ledger(args.work / "ledger.duckdb", read_only=True) as ledger:
        db = ledger.db
        db.register("origins", origin_table(ledger))
        out: dict[str, Any] = {}
        # summary: tokens and share by origin for every week (the streak needs them all)
        summary_sql = _sql_weekly("origin")
        cold, rows = timed(lambda: db.execute(summary_sql).fetchall())
        warm, times, _ = median_of(lambda: db.execute(summary_sql).fetchall(), args.runs)
        out["summary"] = {"cold": cold, "warm": warm, "times": times}
        out["weekly"] = {f"{w}|{k}": int(t) for w, k, t, _, _ in rows if t}
        # top: tokens, share and rank by model for every week (the report needs the week
        # before for growth and rank change), then the report's week
        week = report_week(args.data)
        # (as the report's grid: every week, so that no filter on the week is pushed down)
        top_sql = f"""
            SELECT week, key, tokens, share, rank,
                   lag(tokens) OVER (PARTITION BY key ORDER BY week) AS previous,
                   lag(rank) OVER (PARTITION BY key ORDER BY week) AS rank_previous
            FROM ({_sql_weekly("model")})
            ORDER BY week, rank, key"""

        def top() -> list[tuple]:
            rows = db.execute(top_sql).fetchall()
            return [r for r in rows if r[0] == week][:TOP_LIMIT]

        cold, rows = timed(top)
        warm, times, _ = median_of(top, args.runs)
        out["top"] = {"cold": cold, "warm": warm, "times": times}
        out["top_rows"] = [[r[1], int(r[2])] for r in rows]
        # the same top written for the last two weeks only (zone maps skip the other days)
        narrow_sql = f"""
            SELECT model, day >= DATE '{week}' AS this_week,
                   sum(input_tokens + output_tokens) AS tokens FROM usage
            WHERE day BETWEEN DATE '{week - timedelta(days=7)}'
                          AND DATE '{week + timedelta(days=6)}'
            GROUP BY ALL"""
        cold, _ = timed(lambda: db.execute(narrow_sql).fetchall())
        warm, times, _ = median_of(lambda: db.execute(narrow_sql).fetchall(), args.runs)
        out["top_narrow"] = {"cold": cold, "warm": warm, "times": times}
    out["peak"] = peak_rss()
    return out


def phase_polars(args: argparse.Namespace) -> dict:
    import polars as pl

    from tokenstat import api

    with api.open_ledger(args.work / "ledger.duckdb", read_only=True) as ledger:
        origins = pl.from_arrow(origin_table(ledger))
    files = [str(f) for f in main_files(args.data)]

    def weekly(key: str) -> pl.LazyFrame:
        scan = pl.scan_parquet(files)
        if key == "origin":
            scan = scan.join(origins.lazy(), on="model", how="left").with_columns(
                pl.col("origin").fill_null("unknown")
            )
        return (
            scan.group_by(pl.col("date").dt.truncate("1w").alias("week"), pl.col(key).alias("key"))
            .agg(tokens=(pl.col("input_tokens") + pl.col("output_tokens")).sum())
            .with_columns(
                share=pl.col("tokens") / pl.col("tokens").sum().over("week"),
                rank=pl.col("tokens").rank("min", descending=True).over("week"),
            )
        )

    def summary() -> pl.DataFrame:
        return weekly("origin").collect(engine="streaming")

    week = report_week(args.data)

    def top() -> pl.DataFrame:
        w = weekly("model")
        return (
            w.filter(pl.col("week") == week)
            .sort(["rank", "key"])
            .head(TOP_LIMIT)
            .collect(engine="streaming")
        )

    out: dict[str, Any] = {}
    cold, frame = timed(summary)
    warm, times, _ = median_of(summary, args.runs)
    out["summary"] = {"cold": cold, "warm": warm, "times": times}
    out["weekly"] = {
        f"{w}|{k}": int(t) for w, k, t in frame.select("week", "key", "tokens").iter_rows() if t
    }
    cold, _ = timed(top)
    warm, times, _ = median_of(top, args.runs)
    out["top"] = {"cold": cold, "warm": warm, "times": times}
    out["peak"] = peak_rss()
    return out


def phase_pandas(args: argparse.Namespace) -> dict:
    """pandas cannot hold 100M rows here: time it on an evenly spread sample."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    from tokenstat import api

    with api.open_ledger(args.work / "ledger.duckdb", read_only=True) as ledger:
        origins = origin_table(ledger).to_pandas()
    origin_of = dict(zip(origins["model"], origins["origin"], strict=True))
    files = main_files(args.data)
    total = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
    step = max(1, round(total / PANDAS_SAMPLE_ROWS))
    parts = []
    for f in files:
        table = pq.read_table(f, columns=["date", "model", "input_tokens", "output_tokens"])
        parts.append(table.take(pa.array(range(0, table.num_rows, step))))
    frame = pa.concat_tables(parts).to_pandas()
    frame["date"] = pd.to_datetime(frame["date"])
    sample = len(frame)
    del parts

    def weekly(key: str) -> pd.DataFrame:
        df = frame
        week = df["date"] - pd.to_timedelta(df["date"].dt.weekday, unit="D")
        label = df["model"].map(origin_of).fillna("unknown") if key == "origin" else df["model"]
        tokens = df["input_tokens"] + df["output_tokens"]
        g = (
            pd.DataFrame({"week": week, "key": label, "tokens": tokens})
            .groupby(["week", "key"], sort=False)["tokens"]
            .sum()
            .reset_index()
        )
        by_week = g.groupby("week")["tokens"]
        g["share"] = g["tokens"] / by_week.transform("sum")
        g["rank"] = by_week.rank(method="min", ascending=False)
        return g

    week = pd.Timestamp(report_week(args.data))

    def top() -> pd.DataFrame:
        g = weekly("model")
        latest = g[g["week"] == week]
        return latest.sort_values(["rank", "key"]).head(TOP_LIMIT)

    out: dict[str, Any] = {"sample_rows": sample, "scale": total / sample}
    runs = max(1, min(args.runs, 3))
    cold, _ = timed(lambda: weekly("origin"))
    warm, times, _ = median_of(lambda: weekly("origin"), runs)
    out["summary"] = {"cold": cold, "warm": warm, "times": times}
    cold, _ = timed(top)
    warm, times, _ = median_of(top, runs)
    out["top"] = {"cold": cold, "warm": warm, "times": times}
    out["peak"] = peak_rss()
    return out


def run_phase(args: argparse.Namespace) -> dict:
    if args.phase.startswith("report-"):
        return phase_report(args, args.phase.removeprefix("report-"))
    return globals()[f"phase_{args.phase}"](args)


# ---- the driver ------------------------------------------------------------------------


def spawn(args: argparse.Namespace, phase: str) -> dict:
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--phase",
        phase,
        "--data",
        str(args.data),
        "--work",
        str(args.work),
        "--runs",
        str(args.runs),
    ]
    print(f"... {phase}", file=sys.stderr, flush=True)
    start = time.perf_counter()
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"phase {phase} failed (exit {done.returncode})")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["wall"] = time.perf_counter() - start
    return result


def fmt_s(seconds: float) -> str:
    return f"{seconds:.2f} s" if seconds < 100 else f"{seconds:.0f} s"


def fmt_rate(rows: int, seconds: float) -> str:
    return f"{rows / seconds / 1e6:.2f} M/s"


def fmt_gib(nbytes: int) -> str:
    return f"{nbytes / GIB:.2f} GiB"


def ok_text(ok: bool) -> str:
    return "ok" if ok else "WRONG"


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def compare(a: dict[str, int], b: dict[str, int]) -> tuple[bool, str]:
    if a == b:
        return True, f"{len(a)} cells equal"
    keys = sorted(set(a) | set(b))
    diff = [k for k in keys if a.get(k) != b.get(k)]
    return (
        False,
        f"{len(diff)} of {len(keys)} cells differ, e.g. {diff[0]}: "
        f"{a.get(diff[0])} vs {b.get(diff[0])}",
    )


def drive(args: argparse.Namespace) -> int:
    import duckdb
    import pandas
    import polars

    data = generate_usage.ensure(args.rows, args.seed, args.data)
    args.data = data
    args.work = args.work or (generate_usage.HERE / "data" / f"work-{args.rows}")
    args.work.mkdir(parents=True, exist_ok=True)
    manifest = json.loads((data / "manifest.json").read_text())
    n = manifest["rows"]
    parquet_bytes = sum((data / f["path"]).stat().st_size for f in manifest["files"])
    load_start = os.getloadavg()[0]

    r: dict[str, dict] = {}
    skip = set(args.skip or ())
    for phase in PHASES:
        if phase not in skip:
            r[phase] = spawn(args, phase)
    load_end = os.getloadavg()[0]

    lines: list[str] = []
    p = lines.append
    p("")
    p(
        f"tokenstat ledger benchmark: {n:,} rows ({manifest['models']} models, "
        f"{manifest['providers']} providers, {manifest['apps']:,} apps, "
        f"{manifest['first_day']} to {manifest['last_day']}), {len(manifest['files'])} Parquet "
        f"files, {parquet_bytes / GIB:.2f} GiB"
    )
    p(
        f"machine: {os.cpu_count()} cores, {_ram_gib():.0f} GiB RAM, Python "
        f"{platform.python_version()}, duckdb {duckdb.__version__}, polars {polars.__version__}, "
        f"pandas {pandas.__version__}; load average {load_start:.1f} at start, "
        f"{load_end:.1f} at end"
    )
    p("")
    p(f"{'IMPORT':44s} {'seconds':>9s} {'rows/s':>10s} {'vs CTAS':>8s} {'peak RSS':>10s}  check")
    ctas = r["ctas"]
    p(
        f"{'plain CTAS from read_parquet':44s} {fmt_s(ctas['seconds']):>9s} "
        f"{fmt_rate(ctas['rows'], ctas['seconds']):>10s} {'1.00x':>8s} "
        f"{fmt_gib(ctas['peak']):>10s}  {ctas['rows']:,} rows, {fmt_gib(ctas['db_bytes'])} on disk"
    )
    if "floor" in r:
        fl = r["floor"]
        p(
            f"{'DuckDB alone, same canonical rows':44s} {fmt_s(fl['seconds']):>9s} "
            f"{fmt_rate(fl['rows'], fl['seconds']):>10s} {fl['seconds'] / ctas['seconds']:>7.2f}x "
            f"{fmt_gib(fl['peak']):>10s}  {fl['rows']:,} rows, {fmt_gib(fl['db_bytes'])} on disk "
            "(SQL from read_parquet into the ledger table; no checks, no dedupe, no rollup)"
        )
    imp = r["import"]
    ratio = imp["seconds"] / ctas["seconds"]
    ok_import = imp["rows_new"] == n and imp["ledger_rows"] == n and imp["rollup_rows"] == n
    p(
        f"{'tokenstat import market (api.import_path)':44s} {fmt_s(imp['seconds']):>9s} "
        f"{fmt_rate(imp['rows_new'], imp['seconds']):>10s} {ratio:>7.2f}x "
        f"{fmt_gib(imp['peak']):>10s}  {imp['rows_new']:,} new rows "
        f"({'ok' if ok_import else 'WRONG'}), {fmt_gib(imp['db_bytes'])} on disk, "
        f"rollup {imp['usage_daily_rows']:,} rows"
    )
    checks: list[tuple[str, bool]] = [("import lands every row once", ok_import)]
    if "twice" in r:
        t = r["twice"]
        ok = t["rows_new"] == 0 and t["ledger_rows"] == n
        checks.append(("import twice: nothing new", ok))
        p(
            f"{'import twice (same files)':44s} {fmt_s(t['seconds']):>9s} {'':>10s} {'':>8s} "
            f"{fmt_gib(t['peak']):>10s}  {t['rows_new']:,} new, {t['files_skipped']} files "
            f"skipped by hash, ledger {t['ledger_rows']:,} rows ({'ok' if ok else 'WRONG'})"
        )
    if "reread" in r:
        t = r["reread"]
        ok = t["rows_new"] == 0 and t["rows_duplicate"] == n and t["ledger_rows"] == n
        checks.append(("import twice, rows re-read: nothing new", ok))
        p(
            f"{'import twice (hashes forgotten, rows re-read)':44s} {fmt_s(t['seconds']):>9s} "
            f"{fmt_rate(t['rows_read'], t['seconds']):>10s} "
            f"{t['seconds'] / ctas['seconds']:>7.2f}x {fmt_gib(t['peak']):>10s}  "
            f"{t['rows_new']:,} new, {t['rows_duplicate']:,} duplicates, ledger "
            f"{t['ledger_rows']:,} rows ({'ok' if ok else 'WRONG'})"
        )
    if "overlap" in r:
        t = r["overlap"]
        ok = (
            t["rows_new"] == t["expected_new"]
            and t["rows_duplicate"] == t["expected_duplicate"]
            and t["ledger_rows"] == t["expected_ledger_rows"]
            and t["rollup_rows"] == t["ledger_rows"]
        )
        checks.append(("overlapping file: exactly the new month", ok))
        p(
            f"{'import overlapping file (2 months + 1 new)':44s} {fmt_s(t['seconds']):>9s} "
            f"{fmt_rate(t['rows_read'], t['seconds']):>10s} {'':>8s} "
            f"{fmt_gib(t['peak']):>10s}  {t['rows_new']:,} new (expected "
            f"{t['expected_new']:,}), {t['rows_duplicate']:,} duplicates, ledger "
            f"{t['ledger_rows']:,} rows ({'ok' if ok else 'WRONG'})"
        )

    p("")
    p(
        f"{'REPORTS over ' + format(n, ',') + ' rows':44s} {'warm':>9s} {'first':>10s} "
        f"{'x report':>8s} {'peak RSS':>10s}  note"
    )
    speedups: dict[str, float] = {}
    report_secs: dict[str, float] = {}
    for kind, label in (
        ("summary", "summary --by origin --period week"),
        ("top", "top --by model"),
    ):
        rep = r[f"report-{kind}"]
        base = rep["warm"]
        report_secs[kind] = base
        p(
            f"{label:44s} {fmt_s(base):>9s} {fmt_s(rep['cold']):>10s} {'1.0x':>8s} "
            f"{fmt_gib(rep['peak']):>10s}  tokenstat on the daily rollup, median of "
            f"{args.runs} warm runs; first run in a fresh process"
        )
        rows = []
        if "sql" in r:
            s = r["sql"][kind]
            rows.append(("hand-written SQL over raw usage rows", s, r["sql"]["peak"], ""))
            speedups[kind] = s["warm"] / base
            if kind == "top":
                rows.append(
                    (
                        "hand-written SQL, last 2 weeks only",
                        r["sql"]["top_narrow"],
                        r["sql"]["peak"],
                        "no rank history: zone maps on day skip the rest",
                    )
                )
        if "polars" in r:
            rows.append(
                ("Polars streaming over the Parquet", r["polars"][kind], r["polars"]["peak"], "")
            )
        if "pandas" in r:
            pd_r = r["pandas"]
            scale = pd_r["scale"]
            s = pd_r[kind]
            scaled = {"warm": s["warm"] * scale, "cold": s["cold"] * scale}
            rows.append(
                (
                    f"pandas, {pd_r['sample_rows'] / 1e6:.0f}M-row sample, time x{scale:.1f}",
                    scaled,
                    pd_r["peak"],
                    f"measured {fmt_s(s['warm'])} on the sample",
                )
            )
        for name, s, peak, note in rows:
            p(
                f"  {name:42s} {fmt_s(s['warm']):>9s} {fmt_s(s['cold']):>10s} "
                f"{s['warm'] / base:>7.1f}x {fmt_gib(peak):>10s}  {note}"
            )

    # correctness: report == hand-written SQL (== Polars over the Parquet)
    p("")
    if "sql" in r:
        week = r["report-summary"]["period"]["start"]
        up_to = {k: v for k, v in r["sql"]["weekly"].items() if k.split("|")[0] <= week}
        ok, text = compare(r["report-summary"]["weekly"], up_to)
        checks.append(("weekly tokens by origin: report == SQL", ok))
        p(
            f"check weekly tokens by origin, every week up to {week}, report vs SQL: "
            f"{ok_text(ok)} ({text})"
        )
        prev = (date.fromisoformat(week) - timedelta(days=7)).isoformat()
        sql_w = r["sql"]["weekly"]
        groups = r["report-summary"]["groups"]
        ok = all(
            sql_w.get(f"{week}|{k}", 0) == tok and sql_w.get(f"{prev}|{k}", 0) == (pr or 0)
            for k, (tok, pr) in groups.items()
        ) and sum(t for t, _ in groups.values()) == sum(
            v for key, v in sql_w.items() if key.startswith(f"{week}|")
        )
        checks.append(("summary week and previous week: report == SQL", ok))
        p(f"check summary of week {week} and the week before, report vs SQL: {ok_text(ok)}")
        ok = r["report-top"]["rows"] == r["sql"]["top_rows"]
        checks.append(("top models: report == SQL", ok))
        p(f"check top {TOP_LIMIT} models of week {week}, report vs SQL: {'ok' if ok else 'WRONG'}")
    if "sql" in r and "polars" in r:
        ok, text = compare(r["polars"]["weekly"], r["sql"]["weekly"])
        checks.append(("weekly tokens by origin: Polars on Parquet == SQL on ledger", ok))
        p(
            "check weekly tokens by origin, Polars on the Parquet vs SQL on the ledger: "
            f"{ok_text(ok)} ({text})"
        )

    # targets
    p("")
    peak_import = max(r[k]["peak"] for k in ("import", "twice", "reread", "overlap") if k in r)
    peak_reports = max(r[k]["peak"] for k in ("report-summary", "report-top"))
    targets = [
        (
            f"import within {TARGET_IMPORT_RATIO:g}x of plain CTAS",
            ratio <= TARGET_IMPORT_RATIO,
            f"{ratio:.2f}x",
        ),
        (
            f"each report under {TARGET_REPORT_SECONDS} s (warm median)",
            all(v < TARGET_REPORT_SECONDS for v in report_secs.values()),
            ", ".join(f"{k} {fmt_s(v)}" for k, v in report_secs.items()),
        ),
    ]
    if speedups:
        targets.append(
            (
                f"each report at least {TARGET_REPORT_SPEEDUP:g}x faster than hand-written SQL",
                all(v >= TARGET_REPORT_SPEEDUP for v in speedups.values()),
                ", ".join(f"{k} {v:.1f}x" for k, v in speedups.items()),
            )
        )
    targets.append(
        (
            "peak memory under 4 GiB",
            max(peak_import, peak_reports) < TARGET_PEAK_BYTES,
            f"imports {fmt_gib(peak_import)}, reports {fmt_gib(peak_reports)}",
        )
    )
    for name, ok, value in targets:
        p(f"target: {name}: {verdict(ok)} ({value})")
    failed = [name for name, ok in checks if not ok]
    p(f"correctness: {'all checks ok' if not failed else 'FAILED: ' + '; '.join(failed)}")
    print("\n".join(lines))
    if args.json:
        args.json.write_text(json.dumps(r, indent=2, default=str) + "\n")
    return 1 if failed else 0


def _ram_gib() -> float:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / GIB
    except (ValueError, OSError):
        return float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=generate_usage.DEFAULT_ROWS)
    parser.add_argument("--seed", type=int, default=generate_usage.DEFAULT_SEED)
    parser.add_argument("--data", type=Path, help="data set directory (default: generated)")
    parser.add_argument("--work", type=Path, help="where the ledger and the CTAS database go")
    parser.add_argument("--runs", type=int, default=5, help="warm runs per timing (median)")
    parser.add_argument(
        "--skip", action="append", choices=OPTIONAL_PHASES, help="leave out a phase"
    )
    parser.add_argument("--json", type=Path, help="also write every measurement here")
    parser.add_argument("--phase", choices=PHASES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.phase:
        print(json.dumps(run_phase(args), default=str))
        return 0
    return drive(args)


if __name__ == "__main__":
    raise SystemExit(main())
