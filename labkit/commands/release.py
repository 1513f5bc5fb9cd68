"""``labkit release``: write the student notebooks from the solution notebooks (or check them)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "release",
        help="write student notebooks from solution notebooks",
        description=(
            "Replace every '### BEGIN SOLUTION' ... '### END SOLUTION' block with a stub, strip "
            "outputs and volatile metadata, and write the student notebooks. With --check, "
            "write nothing and exit 1 when the committed student notebooks are stale."
        ),
    )
    parser.add_argument(
        "solutions",
        nargs="?",
        default="notebooks/solutions",
        type=Path,
        help="folder of solution notebooks (default: notebooks/solutions)",
    )
    parser.add_argument(
        "--out",
        default=None,
        type=Path,
        help="folder for the student notebooks (default: the solutions folder's parent)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="exit 1 listing student notebooks that differ from a fresh release or hold solutions",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from labkit.grading.release import check_released, release_all

    solutions: Path = args.solutions
    out: Path = args.out if args.out is not None else solutions.resolve().parent
    if solutions.resolve() == out.resolve():
        print("labkit release: --out must differ from the solutions folder", file=sys.stderr)
        return 2
    if args.check:
        problems = check_released(solutions, out)
        for problem in problems:
            print(problem)
        if problems:
            print(f"{len(problems)} problem(s); run `labkit release {solutions} --out {out}`")
            return 1
        print(f"student notebooks in {out} match a fresh release of {solutions}")
        return 0
    for target, released in release_all(solutions, out):
        for warning in released.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        blocks = f"{released.blocks} solution block{'s' if released.blocks != 1 else ''}"
        print(f"wrote {target} ({blocks} replaced)")
    return 0
