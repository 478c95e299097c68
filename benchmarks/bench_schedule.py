"""How long building the price schedule takes, each run in a fresh process.

Three figures per repeat, each from its own interpreter so no cache carries over:

- ``snapshot``: loading genai-prices' data snapshot alone (the baseline: the schedule
  cannot be built faster than its input is read);
- ``build``: `tokenstat.prices.schedule._build` over that snapshot (the work the schedule
  adds), and its ratio to the baseline measured in the same process;
- ``cached``: a second `build_schedule()` call, which must return the table already built.

The machine is shared and absolute times move between runs: read the ratio. Usage:

    python benchmarks/bench_schedule.py [--repeat 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

PROBE = """
import json, time
started = time.perf_counter()
from genai_prices import data_snapshot
providers = data_snapshot.get_snapshot().providers
snapshot = time.perf_counter() - started
from tokenstat.prices.schedule import _build, build_schedule
started = time.perf_counter()
table = _build(providers)
build = time.perf_counter() - started
first = build_schedule()
started = time.perf_counter()
again = build_schedule()
cached = time.perf_counter() - started
assert again is first and table.equals(first)
print(json.dumps({"snapshot": snapshot, "build": build, "cached": cached, "rows": table.num_rows}))
"""


def run_once() -> dict[str, float]:
    """One fresh interpreter: seconds for the snapshot, the build and a cached call."""
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="fresh processes to run")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    runs = [run_once() for _ in range(args.repeat)]
    ratios = [r["build"] / r["snapshot"] for r in runs]
    summary = {
        "repeat": args.repeat,
        "schedule_rows": runs[0]["rows"],
        "snapshot_s": statistics.median(r["snapshot"] for r in runs),
        "build_s": statistics.median(r["build"] for r in runs),
        "cached_s": statistics.median(r["cached"] for r in runs),
        "build_over_snapshot": statistics.median(ratios),
    }
    print(f"price schedule: {summary['schedule_rows']:,} rows, medians of {args.repeat} runs")
    print(f"  snapshot load (baseline) {summary['snapshot_s']:8.3f} s")
    print(
        f"  build                    {summary['build_s']:8.3f} s "
        f"({summary['build_over_snapshot']:.2f}x the baseline)"
    )
    print(f"  cached call              {summary['cached_s'] * 1e6:8.1f} us")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(summary, out, indent=2)


if __name__ == "__main__":
    main()
