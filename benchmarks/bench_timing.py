"""labkit.timing.bench against pyperf on the same machine, in the same run.

    .venv/bin/python benchmarks/bench_timing.py [--repeats 5]

For each reference workload (about 1 µs, about 1 ms, an async function awaiting a 1 ms sleep):
labkit's median over 5 separate ``bench`` calls, the spread of those medians, pyperf's median
from its default run (worker processes), the difference between the two medians, and the wall
time each tool needed. Targets: medians within 5%, spread ≤ 5% over 5 calls, labkit faster
than pyperf. When the spread misses its target, the warnings labkit's results carried (drift
within a call, a busy machine) are printed as the reason.
Nothing here is typed in: every figure is measured when the script runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from timing_workloads import WORKLOADS  # noqa: E402

from labkit.timing import abench, bench  # noqa: E402

SPREAD_TARGET_PCT = 5.0  # of the median, over the separate bench calls


def labkit_runs(name: str, repeats: int) -> tuple[list[float], list[float], list[str]]:
    fn = WORKLOADS[name]
    medians, walls, reasons = [], [], []
    for _ in range(repeats):
        started = time.perf_counter()
        result = asyncio.run(abench(fn)) if name.startswith("async") else bench(fn)
        walls.append(time.perf_counter() - started)
        medians.append(result.median)
        reasons += result.warnings
    return medians, walls, distinct(reasons)


def distinct(warnings: list[str]) -> list[str]:
    """One warning of each kind (the same words with other numbers count as one)."""
    seen: dict[str, str] = {}
    for warning in warnings:
        seen.setdefault(re.sub(r"[-+]?[\d.,]+", "#", warning), warning)
    return list(seen.values())


def pyperf_run(name: str) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.json"
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, str(HERE / "_pyperf_runner.py"), name, "--quiet", "-o", str(out)],
            check=True,
        )
        wall = time.perf_counter() - started
        import pyperf

        benchmark = pyperf.Benchmark.load(str(out))
        return benchmark.median(), wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="separate labkit bench calls")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    load = os.getloadavg()
    print(
        f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} CPUs"
    )
    rows: list[dict[str, Any]] = []
    for name in WORKLOADS:
        medians, walls, reasons = labkit_runs(name, args.repeats)
        pyperf_median, pyperf_wall = pyperf_run(name)
        labkit_median = statistics.median(medians)
        row = {
            "workload": name,
            "labkit_median_s": labkit_median,
            "labkit_medians_s": medians,
            "labkit_spread_pct": 100 * (max(medians) - min(medians)) / labkit_median,
            "pyperf_median_s": pyperf_median,
            "diff_vs_pyperf_pct": 100 * (labkit_median - pyperf_median) / pyperf_median,
            "labkit_wall_s": statistics.median(walls),
            "pyperf_wall_s": pyperf_wall,
            "labkit_warnings": reasons,
        }
        rows.append(row)
        spread = row["labkit_spread_pct"]
        print(
            f"{name:>16}: labkit {labkit_median * 1e6:10.3f} µs "
            f"(spread {spread:.1f}% over {args.repeats} calls), "
            f"pyperf {pyperf_median * 1e6:10.3f} µs, "
            f"diff {row['diff_vs_pyperf_pct']:+.1f}%; wall labkit {row['labkit_wall_s']:.2f} s "
            f"vs pyperf {pyperf_wall:.1f} s",
            flush=True,
        )
        if spread > SPREAD_TARGET_PCT:
            why = "; ".join(reasons[:4]) or "no warning on any call: the calls disagreed only"
            print(f"{'':>18}spread above {SPREAD_TARGET_PCT}%: {why}", flush=True)
    load = os.getloadavg()
    print(f"load average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    ok = all(
        abs(r["diff_vs_pyperf_pct"]) <= 5
        and r["labkit_spread_pct"] <= SPREAD_TARGET_PCT
        and r["labkit_wall_s"] < r["pyperf_wall_s"]
        for r in rows
    )
    print("targets met" if ok else "targets NOT all met (see figures above)")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
