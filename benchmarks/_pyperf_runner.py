"""pyperf's side of bench_timing.py: ``python _pyperf_runner.py WORKLOAD -o out.json``.

Run as a script (pyperf re-runs it in worker processes), with pyperf's default settings.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pyperf

sys.path.insert(0, str(Path(__file__).resolve().parent))

from timing_workloads import WORKLOADS


def _pass_workload(cmd: list[str], args: Any) -> None:
    cmd.append(args.workload)


def main() -> None:
    runner = pyperf.Runner(add_cmdline_args=_pass_workload)
    runner.argparser.add_argument("workload", choices=sorted(WORKLOADS))
    args = runner.parse_args()
    fn = WORKLOADS[args.workload]
    if args.workload.startswith("async"):
        runner.bench_async_func(args.workload, fn)
    else:
        runner.bench_func(args.workload, fn)


if __name__ == "__main__":
    main()
