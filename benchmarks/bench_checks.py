"""Check speed: each exercise's reference answer graded under a few seeds; the median check time.

    .venv/bin/python benchmarks/bench_checks.py [--seeds 42 20231 90210] [--only 01 03.warming]

Every check a learner runs pays for the grader's integrity work (a fresh seed's dataset, the
identity snapshot of labkit compared after each learner call, leftover thread and task checks),
so the target is on the whole check: a median of at most 3 s per check on a quiet 2-core
machine. The reference answers come from ``tests/answers`` (graded with ``allow_reference``,
as the discrimination tests do); each check's own ``seconds`` is reported, worst ones first.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from labkit.grading import load_lessons, run_check
from tests.answers import materialise

TARGET_MEDIAN_SECONDS = 3.0
_options = inspect.signature(run_check).parameters


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 20_231, 90_210])
    parser.add_argument("--only", nargs="*", default=[], help="exercise ids or notebook numbers")
    options = parser.parse_args(argv)
    timings: list[tuple[float, str, int, str]] = []
    for exercise in load_lessons():
        if options.only and not any(exercise.id.startswith(o) for o in options.only):
            continue
        stem = exercise.module.split(".")[2]
        case = getattr(importlib.import_module(f"tests.answers.{stem}"), "CASES", {}).get(
            exercise.id
        )
        if case is None:
            continue
        for seed in options.seeds:
            # allow_reference: labkit's own answers are graded as the learner's would be
            # (older labkits, measured for comparison, have no such option and need none).
            extra = {"allow_reference": True} if "allow_reference" in _options else {}
            result = run_check(exercise, materialise(case.reference), seed=seed, **extra)
            timings.append((result.seconds, exercise.id, seed, result.verdict))
    if not timings:
        print("no exercises matched", file=sys.stderr)
        return 2
    seconds = [t[0] for t in timings]
    median = statistics.median(seconds)
    print(f"{len(timings)} checks (reference answers, seeds {options.seeds})")
    print(
        f"median {median:.3f} s, mean {statistics.fmean(seconds):.3f} s, max {max(seconds):.3f} s"
    )
    print("slowest:")
    for spent, exercise_id, seed, verdict in sorted(timings, reverse=True)[:8]:
        print(f"  {spent:7.3f} s  {exercise_id:<26} seed {seed:<6} {verdict}")
    ok = median <= TARGET_MEDIAN_SECONDS
    print(f"target: median ≤ {TARGET_MEDIAN_SECONDS:g} s — {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
