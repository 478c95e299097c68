"""Generate a large synthetic market usage data set as Parquet, for the ledger benchmark.

Every row is a daily aggregate for one (date, model, provider, app): the shape the
``market`` importer reads (``date`` date32, ``model``, ``provider``, ``app`` strings,
``input_tokens``, ``output_tokens``, ``requests`` int64). That key is the importer's row
identity, so it is unique across the whole data set: every day draws its own set of
distinct combinations.

Nothing here is a measurement. Cardinalities and skew are chosen to look like a year of
a public LLM gateway:

- about 400 models: the canonical ids of the shipped catalog, plus invented
  ``author/model-N`` ids (authors from the catalog, so they are attributed); Zipf-like
  popularity, launches during the year and per-model growth or decline;
- 60 providers; each model is served by 1 to 8 of them, the first one dominant;
- 5,000 apps with Zipf-like popularity;
- more rows later in the year and fewer on weekends.

Output (under ``benchmarks/data/``, which git ignores), ``<rows>`` being the row count::

    usage-<rows>-seed<seed>/main/usage-2025-01.parquet ... usage-2025-12.parquet
    usage-<rows>-seed<seed>/overlap/usage-2025-11-01_2026-01-31.parquet
    usage-<rows>-seed<seed>/manifest.json

``main`` holds ``<rows>`` rows for 2025, in time order, one file per month. ``overlap`` is
one file repeating November and December exactly (same keys and values, rows in another
order, so the file content differs) plus January 2026, which is new. Importing it after
``main`` must add exactly the January rows; ``manifest.json`` holds those counts.

The output is a function of (rows, seed) only: each day draws from its own seeded
generator, so the overlap's repeated months are generated again rather than read back.

Usage::

    python benchmarks/generate_usage.py --rows 100000000
    python benchmarks/generate_usage.py --rows 2000000 --out /some/dir
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import sys
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
CATALOG_DIR = HERE.parent / "src" / "tokenstat" / "catalog" / "data"
DEFAULT_ROWS = 100_000_000
DEFAULT_SEED = 20250101
N_MODELS = 400
N_PROVIDERS = 60
N_APPS = 5_000
MAX_PROVIDERS_PER_MODEL = 8
FIRST_DAY = date(2025, 1, 1)
YEAR_DAYS = 365  # 2025
OVERLAP_FROM = date(2025, 11, 1)
OVERLAP_TO = date(2026, 1, 31)
ROW_GROUP_ROWS = 1_000_000

SCHEMA = pa.schema(
    [
        pa.field("date", pa.date32(), nullable=False),
        pa.field("model", pa.string(), nullable=False),
        pa.field("provider", pa.string(), nullable=False),
        pa.field("app", pa.string(), nullable=False),
        pa.field("input_tokens", pa.int64(), nullable=False),
        pa.field("output_tokens", pa.int64(), nullable=False),
        pa.field("requests", pa.int64(), nullable=False),
    ]
)

_PROVIDER_NAMES = [
    "openai", "anthropic", "google-vertex", "google-ai-studio", "amazon-bedrock", "azure",
    "together", "fireworks", "deepinfra", "groq", "cerebras", "sambanova", "novita",
    "lambda", "hyperbolic", "mistral", "deepseek", "moonshotai", "z-ai", "alibaba",
    "baidu", "minimax", "xai", "cohere", "nebius", "parasail", "chutes", "siliconflow",
    "atlas-cloud", "baseten",
]  # fmt: skip


def default_out_dir(rows: int, seed: int) -> Path:
    return HERE / "data" / f"usage-{rows}-seed{seed}"


def _read_catalog(name: str) -> list[dict[str, str]]:
    with open(CATALOG_DIR / name, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@dataclass
class Universe:
    """Names and popularity structure shared by every day (fixed by the seed)."""

    models: np.ndarray  # object array of model ids
    providers: np.ndarray
    apps: np.ndarray
    model_weight: np.ndarray  # base popularity
    model_growth: np.ndarray  # log growth per day
    model_launch: np.ndarray  # first day index with traffic
    model_providers: np.ndarray  # (models, MAX_PROVIDERS_PER_MODEL) provider index
    model_provider_cdf: np.ndarray  # (models, MAX_PROVIDERS_PER_MODEL) cumulative share
    app_cdf: np.ndarray
    model_io: np.ndarray  # mean input tokens per request, per model
    model_out: np.ndarray  # mean output tokens per request, per model


def make_universe(seed: int) -> Universe:
    rng = np.random.default_rng([seed, 0])
    canonical = [r["model"].strip().lower() for r in _read_catalog("models.csv")]
    canonical = sorted(set(canonical) - {"other"})[:N_MODELS]
    authors = [r["author"].strip().lower() for r in _read_catalog("authors.csv")]
    invented = []
    n = 0
    while len(canonical) + len(invented) < N_MODELS:
        invented.append(f"{authors[n % len(authors)]}/model-{n + 1}")
        n += 1
    models = np.array(canonical + invented, dtype=object)
    m = len(models)

    # Zipf-like popularity over a random order of the models
    rank = rng.permutation(m) + 1
    weight = 1.0 / rank**1.1
    growth = rng.normal(0.0, 1.2, m) / YEAR_DAYS  # from x0.04 to x25 over a year at 3 sigma
    launch = np.where(rng.random(m) < 0.3, rng.integers(0, YEAR_DAYS, m), 0)

    providers = np.array(
        _PROVIDER_NAMES + [f"provider-{i:02d}" for i in range(len(_PROVIDER_NAMES) + 1, 61)],
        dtype=object,
    )[:N_PROVIDERS]
    provider_pop = 1.0 / (np.arange(N_PROVIDERS) + 1) ** 0.8
    provider_pop /= provider_pop.sum()
    count = np.minimum(1 + rng.poisson(1.8, m), MAX_PROVIDERS_PER_MODEL)
    table = np.zeros((m, MAX_PROVIDERS_PER_MODEL), dtype=np.int64)
    cdf = np.ones((m, MAX_PROVIDERS_PER_MODEL))
    for i in range(m):
        chosen = rng.choice(N_PROVIDERS, size=count[i], replace=False, p=provider_pop)
        table[i, : count[i]] = chosen
        table[i, count[i] :] = chosen[0]
        share = 1.0 / (np.arange(count[i]) + 1) ** 1.5
        cdf[i, : count[i]] = np.cumsum(share) / share.sum()

    apps = np.array([f"app-{i:04d}" for i in range(1, N_APPS + 1)], dtype=object)
    app_weight = 1.0 / (rng.permutation(N_APPS) + 1) ** 1.0
    app_cdf = np.cumsum(app_weight) / app_weight.sum()

    return Universe(
        models=models,
        providers=providers,
        apps=apps,
        model_weight=weight,
        model_growth=growth,
        model_launch=launch,
        model_providers=table,
        model_provider_cdf=cdf,
        app_cdf=app_cdf,
        model_io=np.exp(rng.normal(np.log(2500), 0.6, m)),
        model_out=np.exp(rng.normal(np.log(350), 0.5, m)),
    )


def day_volume(day_index: np.ndarray) -> np.ndarray:
    """Relative row volume of a day: growing through the year, lower at weekends."""
    weekday = np.array([(FIRST_DAY + timedelta(days=int(d))).weekday() for d in day_index])
    return (1.0 + day_index / YEAR_DAYS) * np.where(weekday >= 5, 0.8, 1.0)


def rows_per_day(total: int) -> np.ndarray:
    """Rows of each of the YEAR_DAYS days, summing to ``total`` exactly."""
    volume = day_volume(np.arange(YEAR_DAYS))
    exact = volume / volume.sum() * total
    counts = np.floor(exact).astype(np.int64)
    remainder = total - counts.sum()
    counts[np.argsort(exact - counts)[::-1][:remainder]] += 1
    return counts


def rows_for_day(total: int, day_index: int) -> int:
    """Rows of any day (also after the year) at the scale of a ``total``-row year."""
    if 0 <= day_index < YEAR_DAYS:
        return int(rows_per_day(total)[day_index])
    volume = day_volume(np.arange(YEAR_DAYS))
    return round(float(day_volume(np.array([day_index]))[0] / volume.sum() * total))


def generate_day(u: Universe, seed: int, day_index: int, n: int) -> pa.Table:
    """``n`` distinct (model, provider, app) rows of one day with their counts."""
    rng = np.random.default_rng([seed, 1, day_index])
    active = u.model_launch <= day_index
    w = u.model_weight * np.exp(u.model_growth * day_index) * active
    # a launch gets a boost for two weeks
    fresh = active & (day_index - u.model_launch < 14) & (u.model_launch > 0)
    w = np.where(fresh, w * 3.0, w)
    model_cdf = np.cumsum(w) / w.sum()

    keys = np.empty(0, dtype=np.int64)
    draws = max(2 * n, 1000)
    while True:
        mi = np.minimum(np.searchsorted(model_cdf, rng.random(draws)), len(u.models) - 1)
        slot = (rng.random(draws)[:, None] > u.model_provider_cdf[mi]).sum(axis=1)
        pi = u.model_providers[mi, np.minimum(slot, MAX_PROVIDERS_PER_MODEL - 1)]
        ai = np.minimum(np.searchsorted(u.app_cdf, rng.random(draws)), N_APPS - 1)
        keys = np.concatenate([keys, (mi * N_PROVIDERS + pi) * N_APPS + ai])
        uniq, first, hits = np.unique(keys, return_index=True, return_counts=True)
        if len(uniq) >= n:
            break
        draws *= 2
    # the first n distinct combinations in draw order: popular ones come first
    order = np.argsort(first, kind="stable")[:n]
    key, hits = uniq[order], hits[order]
    mi, rest = np.divmod(key, N_PROVIDERS * N_APPS)
    pi, ai = np.divmod(rest, N_APPS)

    requests = np.maximum(1, np.rint(hits * rng.lognormal(1.5, 0.8, n))).astype(np.int64)
    per_in = u.model_io[mi] * rng.lognormal(0.0, 0.5, n)
    per_out = u.model_out[mi] * rng.lognormal(0.0, 0.4, n)
    day = FIRST_DAY + timedelta(days=day_index)
    return pa.table(
        {
            "date": pa.array(np.full(n, (day - date(1970, 1, 1)).days, np.int32), pa.date32()),
            "model": pa.array(u.models[mi], pa.string()),
            "provider": pa.array(u.providers[pi], pa.string()),
            "app": pa.array(u.apps[ai], pa.string()),
            "input_tokens": np.rint(requests * per_in).astype(np.int64),
            "output_tokens": np.rint(requests * per_out).astype(np.int64),
            "requests": requests,
        },
        schema=SCHEMA,
    )


def _day_index(day: date) -> int:
    return (day - FIRST_DAY).days


def _write(path: Path, tables: list[pa.Table]) -> int:
    table = pa.concat_tables(tables)
    pq.write_table(table, path, row_group_size=ROW_GROUP_ROWS)
    return table.num_rows


def generate(rows: int, seed: int, out: Path, *, quiet: bool = False) -> dict:
    """Write the data set to ``out`` (replacing it) and return the manifest."""
    started = time.perf_counter()
    if out.exists():
        shutil.rmtree(out)
    (out / "main").mkdir(parents=True)
    (out / "overlap").mkdir()
    u = make_universe(seed)
    counts = rows_per_day(rows)
    files = []
    month_tables: list[pa.Table] = []
    for d in range(YEAR_DAYS):
        day = FIRST_DAY + timedelta(days=d)
        month_tables.append(generate_day(u, seed, d, int(counts[d])))
        if d == YEAR_DAYS - 1 or (day + timedelta(days=1)).month != day.month:
            path = out / "main" / f"usage-{day:%Y-%m}.parquet"
            n = _write(path, month_tables)
            files.append({"path": f"main/{path.name}", "rows": n})
            month_tables = []
            if not quiet:
                print(f"  {path.name}: {n:,} rows", file=sys.stderr)

    # overlap: November and December again (rows in another order), then January
    repeated = 0
    new = 0
    name = f"usage-{OVERLAP_FROM.isoformat()}_{OVERLAP_TO.isoformat()}.parquet"
    path = out / "overlap" / name
    with pq.ParquetWriter(path, SCHEMA) as writer:
        day = OVERLAP_FROM
        tables: list[pa.Table] = []
        while day <= OVERLAP_TO:
            d = _day_index(day)
            table = generate_day(u, seed, d, rows_for_day(rows, d))
            if d < YEAR_DAYS:
                repeated += table.num_rows
                table = table.take(np.random.default_rng([seed, 2, d]).permutation(len(table)))
            else:
                new += table.num_rows
            tables.append(table)
            if (day + timedelta(days=1)).month != day.month:
                writer.write_table(pa.concat_tables(tables), row_group_size=ROW_GROUP_ROWS)
                tables = []
            day += timedelta(days=1)
    if not quiet:
        print(f"  {name}: {repeated:,} repeated + {new:,} new rows", file=sys.stderr)

    manifest = {
        "rows": rows,
        "seed": seed,
        "first_day": FIRST_DAY.isoformat(),
        "last_day": (FIRST_DAY + timedelta(days=YEAR_DAYS - 1)).isoformat(),
        "models": len(u.models),
        "providers": len(u.providers),
        "apps": len(u.apps),
        "files": files,
        "overlap": {
            "path": f"overlap/{name}",
            "rows": repeated + new,
            "repeated_rows": repeated,
            "new_rows": new,
            "first_day": OVERLAP_FROM.isoformat(),
            "last_day": OVERLAP_TO.isoformat(),
        },
        "seconds": round(time.perf_counter() - started, 1),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def ensure(rows: int, seed: int, out: Path | None = None, *, quiet: bool = False) -> Path:
    """The data set directory, generated first when it is missing or incomplete."""
    out = out or default_out_dir(rows, seed)
    manifest = out / "manifest.json"
    if manifest.exists():
        info = json.loads(manifest.read_text())
        if info.get("rows") == rows and info.get("seed") == seed:
            return out
    if not quiet:
        print(f"generating {rows:,} rows into {out} ...", file=sys.stderr)
    generate(rows, seed, out, quiet=quiet)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS, help="rows of the main set")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--out", type=Path, help="output directory (default: benchmarks/data/)")
    parser.add_argument("--force", action="store_true", help="regenerate even if present")
    args = parser.parse_args(argv)
    out = args.out or default_out_dir(args.rows, args.seed)
    if args.force or not (out / "manifest.json").exists():
        manifest = generate(args.rows, args.seed, out)
        print(
            f"{manifest['rows']:,} rows in {len(manifest['files'])} files, overlap set "
            f"{manifest['overlap']['rows']:,} rows ({manifest['overlap']['new_rows']:,} new), "
            f"{manifest['seconds']} s: {out}"
        )
    else:
        ensure(args.rows, args.seed, out)
        print(f"already there: {out} (--force to regenerate)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
