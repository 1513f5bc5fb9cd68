"""``labkit check``: run notebooks headless and grade every check in them."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "check",
        help="run notebooks headless and collect every check result",
        description=(
            "Execute each notebook (or every notebook under a folder of submissions) in a fresh "
            "kernel and record one row per (notebook, exercise): verdict, points, measured values. "
            "Exercises a notebook did not report (kernel died, time budget exceeded, check never "
            "called) count as 'not run'. Notebooks run as the current user: only check "
            "submissions you are willing to execute."
        ),
    )
    parser.add_argument("paths", nargs="+", help="notebooks or folders of notebooks")
    parser.add_argument(
        "--budget", type=float, default=300.0, help="seconds allowed per notebook (default 300)"
    )
    parser.add_argument(
        "--notebook", help="treat every notebook as this course notebook (e.g. 02)", default=None
    )
    parser.add_argument("--csv", type=Path, help="write one row per (notebook, exercise) here")
    parser.add_argument("--json", type=Path, help="write results and pass rates here as JSON")
    parser.add_argument("--kernel", default="python3", help="Jupyter kernel name (default python3)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from labkit.grading.batch import COMPLETED, check_notebooks

    if args.budget <= 0:
        print("labkit check: --budget must be positive", file=sys.stderr)
        return 2
    report = check_notebooks(
        args.paths,
        budget=args.budget,
        notebook=args.notebook,
        kernel_name=args.kernel,
        progress=lambda path: print(f"running {path} ...", file=sys.stderr, flush=True),
    )
    print(report)
    if args.csv:
        report.write_csv(args.csv)
        print(f"wrote {args.csv}")
    if args.json:
        report.write_json(args.json)
        print(f"wrote {args.json}")
    all_ran = all(run.status == COMPLETED for run in report.runs)
    all_passed = all(row.passed for row in report.rows)
    return 0 if all_ran and all_passed else 1
