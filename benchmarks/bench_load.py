"""Benchmark the load generator and the lab API's tuning (a script, not a test).

1. labkit's load generator against wrk on the same server, endpoint and concurrency:
   labkit's throughput should be at least 0.9x wrk's and its p50 within 15 %, or the
   generator (not the server) would be what a learner measures.
2. The tuned service (``optimize="all"``) against the baseline on the feed endpoint:
   throughput ratio of at least 10x.

Needs ``wrk`` on PATH (Debian: ``apt-get install wrk``); part 1 is skipped without it.
Usage: ``python benchmarks/bench_load.py [--duration 5] [--vus 10] [--rounds 2]``
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import statistics
import subprocess
import sys

from labkit.app import LabServer
from labkit.load import run_load

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}
# What aiohttp sends by default (brotli installed): both tools ask for the same responses.
ACCEPT_ENCODING = "gzip, deflate, br"


def run_wrk(url: str, vus: int, duration: float) -> tuple[float, float]:
    """(requests/s, p50 ms) from ``wrk --latency``."""
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{vus}",
            f"-d{max(1, round(duration))}s",
            "--latency",
            "-H",
            f"Accept-Encoding: {ACCEPT_ENCODING}",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    value, unit = re.search(r"\s50%\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
    return rps, float(value) * UNITS[unit]


async def run_labkit(
    server: LabServer, path: str, vus: int, duration: float
) -> tuple[float, float]:
    result = await run_load(server, [path], vus=vus, duration=duration, warmup=1.0, progress=False)
    if result.warnings:
        print("   labkit warnings:", "; ".join(result.warnings))
    return result.rps, result.p50


def compare_with_wrk(path: str, vus: int, duration: float, rounds: int) -> bool:
    with LabServer(optimize="all") as server:
        url = server.url + path
        run_wrk(url, vus, 1)  # warm the server (caches, connections)
        wrk, labkit = [], []
        for index in range(rounds):  # alternate the order so neither always runs first
            order = ("wrk", "labkit") if index % 2 == 0 else ("labkit", "wrk")
            for tool in order:
                if tool == "wrk":
                    wrk.append(run_wrk(url, vus, duration))
                else:
                    labkit.append(asyncio.run(run_labkit(server, path, vus, duration)))
    wrk_rps = statistics.median(r for r, _ in wrk)
    wrk_p50 = statistics.median(p for _, p in wrk)
    lab_rps = statistics.median(r for r, _ in labkit)
    lab_p50 = statistics.median(p for _, p in labkit)
    rps_ratio = lab_rps / wrk_rps
    p50_gap = abs(lab_p50 - wrk_p50) / wrk_p50
    print(f"1. {path}, {vus} connections, {duration:g} s x {rounds} rounds each (medians)")
    print(f"   wrk    : {wrk_rps:8,.0f} req/s   p50 {wrk_p50:6.2f} ms   runs {wrk}")
    print(f"   labkit : {lab_rps:8,.0f} req/s   p50 {lab_p50:6.2f} ms   runs {labkit}")
    ok = rps_ratio >= 0.9 and p50_gap <= 0.15
    print(
        f"   labkit/wrk throughput {rps_ratio:.2f} (target >= 0.90), "
        f"p50 gap {p50_gap:.1%} (target <= 15%): {'PASS' if ok else 'FAIL'}"
    )
    return ok


def compare_tuning(vus: int, duration: float) -> bool:
    path = "/api/feed?user_id=1"
    figures = {}
    for optimize in ("none", "all"):
        with LabServer(optimize=optimize) as server:
            result = asyncio.run(
                run_load(server, [path], vus=vus, duration=duration, warmup=1.0, progress=False)
            )
        figures[optimize] = result
        print(f"   {optimize:>4}: {result.headline()}")
    ratio = figures["all"].rps / figures["none"].rps
    ok = ratio >= 10
    print(f"2. feed throughput all/none = {ratio:.1f}x (target >= 10x): {'PASS' if ok else 'FAIL'}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--vus", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--path", default="/api/products/1")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} CPU cores, Python {sys.version.split()[0]}")
    results = []
    if shutil.which("wrk"):
        results.append(compare_with_wrk(args.path, args.vus, args.duration, args.rounds))
    else:
        print("1. skipped: wrk is not installed (apt-get install wrk)")
    results.append(compare_tuning(args.vus, args.duration))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
