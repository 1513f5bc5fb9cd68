"""``labkit report``: the Backend Optimisation Report from saved load results."""

from __future__ import annotations

import argparse
from typing import Any

from labkit.report.choices import PRIORITIES


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "report",
        help="write the optimisation report from two (or more) load-test results",
        description="Every number comes from the result files (labkit loadtest -o FILE).",
    )
    parser.add_argument("baseline", help="result JSON of the baseline run")
    parser.add_argument("after", help="result JSON of the tuned run")
    parser.add_argument(
        "--step",
        action="append",
        default=[],
        metavar="NAME=FILE",
        help="a run with one more optimisation, in order (repeat)",
    )
    parser.add_argument(
        "--notes",
        help="YAML with title, author, summary, trade_offs, next_steps, claims "
        "(e.g. claims: {rps: [85, 320]})",
    )
    parser.add_argument(
        "--memory-limit-mb",
        type=float,
        default=None,
        help="memory the server may use (default: the cgroup limit, else total RAM)",
    )
    parser.add_argument("--priority", choices=PRIORITIES, default="high")
    parser.add_argument("-o", "--output", default="report.md", help=".md (default) or .html")
    parser.add_argument("--no-plots", action="store_true")
    parser.add_argument(
        "--allow-errors",
        action="store_true",
        help="report runs where more than 5%% of requests failed (breaking-point runs)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from labkit.errors import ReportError
    from labkit.load.result import LoadResult
    from labkit.output_files import output_path
    from labkit.report import build_report

    output = output_path(args.output, what="-o", create_folder=True)
    runs = {
        "baseline": LoadResult.from_json(args.baseline),
        "after": LoadResult.from_json(args.after),
    }
    steps = []
    for item in args.step:
        name, sep, path = item.partition("=")
        if not sep or not name.strip():
            raise ReportError(f"--step wants NAME=FILE, got {item!r}")
        steps.append((name, LoadResult.from_json(path)))
        runs[f"step {name}"] = steps[-1][1]
    for what, result in runs.items():
        problem = result.failure_problem()
        if problem and not args.allow_errors:
            raise ReportError(
                f"the {what} run cannot be compared: {problem} (or pass --allow-errors)"
            )
    report = build_report(
        runs["baseline"],
        runs["after"],
        steps=steps,
        notes=args.notes,
        priority=args.priority,
        plots=not args.no_plots,
        memory_limit_mb=args.memory_limit_mb,
    )
    path = report.save(output)
    print(f"wrote {path}")
    return 0
