"""``labkit optimize``: baseline, each optimisation one at a time, report — in one command."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from pathlib import Path
from typing import Any

from labkit.load.endpoints import DEEP_PAGE
from labkit.load.optimization import TARGETS
from labkit.load.plan import PROFILES
from labkit.report.choices import PRIORITIES


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "optimize",
        help="measure the baseline, add optimisations one at a time, write the report",
        description="Runs a fresh lab server per step. Targets: "
        + "; ".join(f"{k}: {', '.join(v)}" for k, v in TARGETS.items()),
    )
    parser.add_argument("--target", choices=sorted(TARGETS), default="all")
    parser.add_argument("--endpoints", help="comma-separated paths (default: all but search)")
    parser.add_argument(
        "--load-profile", choices=sorted(PROFILES), default="low", help="default low (demo)"
    )
    parser.add_argument("--vus", type=int, default=None)
    parser.add_argument(
        "--duration", type=float, default=None, help="seconds per run (default: profile / repeats)"
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=5,
        help="interleaved runs per step (default 5; the interval needs at least 2)",
    )
    parser.add_argument(
        "--depth",
        type=int,
        default=DEEP_PAGE,
        help=f"posts a client has paged through before the measured posts page "
        f"(default {DEEP_PAGE}; 0 measures the first page)",
    )
    parser.add_argument("--priority", choices=PRIORITIES, default="high")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("-o", "--output", default="report.md")
    parser.add_argument("--no-progress", action="store_true")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from labkit.output_files import output_path

    made = [p for p in Path(args.output or ".").absolute().parents if not p.exists()]
    output = output_path(args.output, what="-o", create_folder=True)  # before minutes of runs
    try:
        return _measure_and_report(args, output)
    except BaseException:
        for folder in made:  # innermost first: folders made for the report, left empty
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise


def _measure_and_report(args: argparse.Namespace, output: Path) -> int:
    from labkit.errors import LoadError
    from labkit.load.optimization import optimize, save_results
    from labkit.report import build_report

    comparison = asyncio.run(
        optimize(
            args.target,
            args.endpoints.split(",") if args.endpoints else None,
            profile=args.load_profile,
            vus=args.vus,
            duration=args.duration,
            repeats=args.repeats,
            workers=args.workers,
            depth=args.depth or None,
            progress=not args.no_progress,
        )
    )
    # Failed requests are not a measurement of speed: no ratio is shown or reported from them.
    failed = [
        (name, problem)
        for name, run in [("baseline", comparison.baseline), *comparison.steps]
        if (problem := run.failure_problem())
    ]
    if failed:
        name, problem = failed[0]
        raise LoadError(f"no report: in the {name} run {problem}; check --endpoints")
    print(comparison.summary())
    report = build_report(
        comparison.baseline,
        comparison.after,
        steps=comparison.steps,
        priority=args.priority,
        comparison=comparison,
    )
    saved = save_results(comparison, output.parent / f"{output.stem}_results")
    print(f"wrote {report.save(output)} and {len(saved)} result files in {saved[0].parent}")
    return 0
