"""Dataset build speed: seconds per size, rows/second, and the ratio to a plain executemany.

    .venv/bin/python benchmarks/bench_data.py [--sizes small large] [--repeat 3]

The baseline inserts exactly the same rows (generated beforehand, not timed) into the same
schema with ``sqlite3.executemany`` in one transaction and SQLite's default settings: the
fastest a straightforward loader gets without tuning. The generator has to produce its rows
*and* fingerprint them, so it is held to at least half the baseline's rate. Runs of the two are
interleaved so that a busy machine slows both alike; the medians are reported.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

from labkit.data import DEFAULT_SEED, SIZES, build
from labkit.data.generator import GENERATOR_VERSION, generate
from labkit.data.location import expected_fingerprint
from labkit.data.schema import SCHEMA

TARGET_SECONDS = {"tiny": 1.0, "small": 1.0, "large": 10.0}
TARGET_RATIO = 0.5


def plain_insert(rows_by_table: list[tuple[str, list[tuple[object, ...]]]], path: Path) -> float:
    started = time.perf_counter()
    conn = sqlite3.connect(path)
    conn.executescript(SCHEMA)
    with conn:
        for table, rows in rows_by_table:
            marks = ", ".join("?" * len(rows[0]))
            conn.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
    conn.close()
    return time.perf_counter() - started


def measure(size: str, repeat: int, folder: Path) -> dict[str, object]:
    rows_by_table = [(t.name, t.rows) for t in generate(size, DEFAULT_SEED)]
    total_rows = sum(len(rows) for _, rows in rows_by_table)
    fingerprint = ""
    build_s: list[float] = []
    plain_s: list[float] = []
    for i in range(repeat):
        target = folder / f"{size}-{i}.sqlite"
        started = time.perf_counter()
        fingerprint = build(size, DEFAULT_SEED, target).fingerprint
        build_s.append(time.perf_counter() - started)
        target.unlink()
        baseline = folder / f"{size}-{i}-plain.sqlite"
        plain_s.append(plain_insert(rows_by_table, baseline))
        baseline.unlink()
    build_median, plain_median = statistics.median(build_s), statistics.median(plain_s)
    ratio = plain_median / build_median  # = (rows/s of the build) / (rows/s of the baseline)
    return {
        "size": size,
        "rows": total_rows,
        "build_s": build_median,
        "build_rows_per_s": total_rows / build_median,
        "plain_executemany_s": plain_median,
        "plain_rows_per_s": total_rows / plain_median,
        "ratio": ratio,
        "build_runs_s": build_s,
        "plain_runs_s": plain_s,
        "matches_manifest": fingerprint
        == expected_fingerprint(size, DEFAULT_SEED, GENERATOR_VERSION),
        "meets_time_target": build_median <= TARGET_SECONDS[size],
        "meets_ratio_target": ratio >= TARGET_RATIO,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", choices=list(SIZES), default=["small", "large"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="labkit-bench-") as tmp:
        results = [measure(size, args.repeat, Path(tmp)) for size in args.sizes]
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(
        f"{'size':<6} {'rows':>10} {'build':>9} {'rows/s':>11} {'plain':>9} {'rows/s':>11} "
        f"{'ratio':>6}  targets"
    )
    for r in results:
        size = str(r["size"])
        verdicts = [
            f"≤ {TARGET_SECONDS[size]:g} s {'ok' if r['meets_time_target'] else 'MISSED'}",
            f"ratio ≥ {TARGET_RATIO} {'ok' if r['meets_ratio_target'] else 'MISSED'}",
            f"manifest {'matches' if r['matches_manifest'] else 'DIFFERS'}",
        ]
        print(
            f"{size:<6} {r['rows']:>10,} {r['build_s']:>8.2f}s {r['build_rows_per_s']:>11,.0f} "
            f"{r['plain_executemany_s']:>8.2f}s {r['plain_rows_per_s']:>11,.0f} "
            f"{r['ratio']:>6.2f}  {', '.join(verdicts)}"
        )
    print(
        f"(medians of {args.repeat} interleaved runs; python {sys.version.split()[0]}, "
        f"SQLite {sqlite3.sqlite_version})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
