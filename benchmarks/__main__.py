"""Run the benchmark scripts one after another: ``python -m benchmarks [data|checks ...]``.

Benchmarks measure performance targets; they are never part of ``make test`` (a wall-clock
target would flake on a busy machine). Each script also runs on its own, with its own options.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

HERE = Path(__file__).parent
NAMES = ("data", "timing", "load", "runtime", "checks")


def main(argv: list[str]) -> int:
    chosen = argv or list(NAMES)
    unknown = [name for name in chosen if name not in NAMES]
    if unknown:
        print(f"unknown benchmark {unknown[0]!r}; choose from {', '.join(NAMES)}", file=sys.stderr)
        return 2
    failed = 0
    for name in chosen:
        print(f"\n== benchmarks/bench_{name}.py ==", flush=True)
        sys.argv = [f"bench_{name}.py"]
        try:
            runpy.run_path(str(HERE / f"bench_{name}.py"), run_name="__main__")
        except SystemExit as exc:
            failed += bool(exc.code)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
