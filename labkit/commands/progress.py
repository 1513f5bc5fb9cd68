"""``labkit progress``: the learner's checks so far, one table per notebook, and how their
predictions compared with what they measured (calibration)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from labkit.errors import GradingError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "progress",
        help="show your check results so far, per notebook",
        description="Show every exercise with its best points, attempts and last verdict.",
    )
    parser.add_argument("notebook", nargs="?", help="only this notebook, e.g. 02")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    parser.add_argument(
        "--reset",
        action="store_true",
        help="start afresh: the store is moved aside (never deleted) and its new name printed",
    )
    parser.set_defaults(func=run)


def known_notebook(notebook: str) -> str:
    """``"2"`` or ``"02"`` → ``"02"``; a notebook the course does not have is an error."""
    from labkit.lessons import LESSON_MODULES
    from labkit.notebook_number import notebook_number

    number = notebook_number(notebook)
    if number not in LESSON_MODULES:
        raise GradingError(
            f"there is no notebook {notebook!r}: choose one of {', '.join(sorted(LESSON_MODULES))}"
        )
    return number


def run(args: argparse.Namespace) -> int:
    from labkit.grading.progress_store import ProgressStore
    from labkit.grading.progress_view import progress_report

    if args.notebook is not None:
        args.notebook = known_notebook(args.notebook)
    store = ProgressStore()
    if args.reset:
        moved = store.reset()
        print(f"progress moved to {moved}" if moved else f"no progress stored yet ({store.path})")
        return 0
    from labkit.predictions import calibration

    report = progress_report(args.notebook, store=store)
    predictions = calibration(args.notebook or "all")
    if args.json:
        print(json.dumps(report.to_frame().to_dict(orient="records"), indent=2, default=str))
    else:
        print(report)
        print()
        print(predictions)
    return 0
