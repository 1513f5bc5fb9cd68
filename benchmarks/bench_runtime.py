"""The server runtime as an optimisation: asyncio + h11 vs uvloop + httptools.

The same app, dataset and optimisations (``--optimize all``) on one worker; closed-loop load on
``/api/users/1`` (a cached, cheap endpoint, where the runtime's share of each request is
largest). Rounds alternate the two runtimes (A B A B …) so drift on a shared machine falls on
both; the ratio of median req/s comes with a bootstrap 95% interval, and the same-vs-same
ratio of the asyncio rounds (odd vs even) shows the noise floor.

    python benchmarks/bench_runtime.py [--rounds 6] [--seconds 2] [--vus 20]
"""

from __future__ import annotations

import argparse
import os

from labkit.app.runtime import available
from labkit.app.server import LabServer
from labkit.load.runner import run_load_sync
from labkit.timing.stats import bootstrap_ratio_interval, median

ENDPOINT = "/api/users/1"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--vus", type=int, default=20)
    args = parser.parse_args()
    if not available("uvloop"):
        print("uvloop/httptools are not installed here: nothing to compare")
        return 1
    rps: dict[str, list[float]] = {"asyncio": [], "uvloop": []}
    with (
        LabServer(optimize="all", runtime="asyncio") as slow,
        LabServer(optimize="all", runtime="uvloop") as fast,
    ):
        servers = {"asyncio": slow, "uvloop": fast}
        for round_number in range(args.rounds):
            order = ("asyncio", "uvloop") if round_number % 2 == 0 else ("uvloop", "asyncio")
            for runtime in order:
                result = run_load_sync(
                    servers[runtime],
                    [ENDPOINT],
                    vus=args.vus,
                    duration=args.seconds,
                    warmup=0.5,
                    progress=False,
                )
                rps[runtime].append(result.rps)
                print(f"round {round_number + 1} {runtime:8s} {result.rps:8.0f} req/s", flush=True)
    ratio = median(rps["uvloop"]) / median(rps["asyncio"])
    low, high = bootstrap_ratio_interval(rps["uvloop"], rps["asyncio"])
    base = rps["asyncio"]
    floor_low, floor_high = bootstrap_ratio_interval(base[0::2], base[1::2])
    load = os.getloadavg()[0]
    print(
        f"\nuvloop+httptools vs asyncio+h11: ×{ratio:.2f} req/s "
        f"(95% interval ×{low:.2f}–×{high:.2f}; {args.rounds} interleaved rounds of "
        f"{args.seconds:g} s, {args.vus} VUs); noise floor (asyncio vs itself) "
        f"×{floor_low:.2f}–×{floor_high:.2f}; load average {load:.2f}"
    )
    clear = low > max(1.0, floor_high) or high < min(1.0, floor_low)
    print(
        "verdict:",
        "uvloop faster"
        if clear and ratio > 1
        else "no clear effect"
        if not clear
        else "uvloop slower",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
