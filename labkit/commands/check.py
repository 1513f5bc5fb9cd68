"""``labkit check``: grade notebooks headless, each submission isolated; ``check merge`` shards."""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path
from typing import Any

from labkit.errors import GradingError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "check",
        help="grade notebooks headless (a folder of submissions: isolated, in parallel)",
        description=(
            "Execute each notebook (or every notebook under a folder of submissions) in a fresh, "
            "isolated kernel — its own folder, store, datasets and process tree; inside "
            "bubblewrap where it works — and record one row per (notebook, exercise). "
            "Exercises a notebook did not check, or did not reach (kernel died, budget "
            "exceeded), count as 'not run'. `labkit check merge A.json B.json -o DIR` combines "
            "the JSON of several shards."
        ),
    )
    parser.add_argument("paths", nargs="+", help="notebooks or folders of notebooks")
    parser.add_argument(
        "--budget", type=float, default=300.0, help="seconds allowed per notebook (default 300)"
    )
    parser.add_argument(
        "--notebook", help="treat every notebook as this course notebook (e.g. 02)", default=None
    )
    parser.add_argument(
        "-j", "--jobs", type=int, default=None, help="notebooks at once (default: cores available)"
    )
    parser.add_argument(
        "--shard", help="grade only slice i of n (e.g. 2/8) of the sorted notebooks"
    )
    parser.add_argument(
        "--hidden", type=Path, help="the instructor's hidden checks (a file or folder)"
    )
    parser.add_argument(
        "--isolation",
        choices=("auto", "bwrap", "process"),
        default="auto",
        help="bubblewrap sandbox where it works (auto), or process isolation only",
    )
    parser.add_argument("--csv", type=Path, help="write one row per (notebook, exercise) here")
    parser.add_argument("--json", type=Path, help="write results as JSON (re-runs skip unchanged)")
    parser.add_argument(
        "--gradebook",
        "-o",
        type=Path,
        help="folder for gradebook.csv (one row per student), totals.csv and summary.html",
    )
    parser.add_argument(
        "--force", action="store_true", help="re-grade submissions unchanged since --json"
    )
    parser.add_argument("--kernel", default="python3", help="Jupyter kernel name (default python3)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def validate(args: argparse.Namespace) -> None:
    """Every option checked before any notebook runs: one clear line each."""
    budget = getattr(args, "budget", 300.0)
    if not math.isfinite(budget) or budget <= 0:
        raise GradingError(f"--budget must be a positive number of seconds, not {budget:g}")
    jobs = getattr(args, "jobs", None)
    if jobs is not None and jobs < 1:
        raise GradingError(f"-j/--jobs must be at least 1, not {jobs}")
    for option, path in (("--csv", args.csv), ("--json", args.json)):
        if path is not None:
            _writable_file(option, Path(path))
    if args.gradebook is not None:
        _writable_folder("--gradebook", Path(args.gradebook))


def _writable_file(option: str, path: Path) -> None:
    if path.is_dir():
        raise GradingError(f"{option} {path}: is a folder, not a file")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise GradingError(f"{option} {path}: the folder {parent} does not exist")
    if not _can_write_in(parent) or (path.exists() and not os.access(path, os.W_OK)):
        raise GradingError(f"{option} {path}: not writable")


def _writable_folder(option: str, path: Path) -> None:
    if path.exists():
        if not path.is_dir():
            raise GradingError(f"{option} {path}: exists and is not a folder")
        if not _can_write_in(path):
            raise GradingError(f"{option} {path}: not writable")
        return
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir() or not _can_write_in(parent):
        raise GradingError(f"{option} {path}: cannot create it in {parent}")


def _can_write_in(folder: Path) -> bool:
    """Tried, not asked: ``os.access`` says yes to root even on a read-only file system."""
    import tempfile

    try:
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


def run(args: argparse.Namespace) -> int:
    if args.paths and args.paths[0] == "merge" and not Path("merge").exists():
        return merge(args)
    from labkit.grading.batch import COMPLETED, check_notebooks, default_jobs, parse_shard
    from labkit.grading.gradebook import load_report
    from labkit.grading.hidden import load_hidden

    validate(args)
    shard = parse_shard(args.shard) if getattr(args, "shard", None) else None
    hidden = load_hidden(args.hidden) if getattr(args, "hidden", None) else None
    previous = None
    if args.json is not None and Path(args.json).is_file() and not getattr(args, "force", False):
        try:
            previous = load_report(Path(args.json))
        except GradingError as exc:
            print(f"labkit check: not reusing {args.json} ({exc})", file=sys.stderr)
    report = check_notebooks(
        args.paths,
        budget=args.budget,
        notebook=args.notebook,
        kernel_name=args.kernel,
        jobs=getattr(args, "jobs", None) or default_jobs(),
        shard=shard,
        hidden=hidden,
        isolation=getattr(args, "isolation", "auto"),
        previous=previous,
        progress=not getattr(args, "no_progress", False),
    )
    print(report)
    # Written only now, by this process, every kernel gone: nothing a notebook started can
    # have the last word on these files.
    for path in report.write(
        csv_path=args.csv, json_path=args.json, gradebook=getattr(args, "gradebook", None)
    ):
        print(f"wrote {path}")
    all_ran = all(run.status == COMPLETED for run in report.runs)
    all_passed = all(row.passed for row in report.rows)
    return 0 if all_ran and all_passed else 1


def merge(args: argparse.Namespace) -> int:
    """``labkit check merge results-*.json -o DIR``: one gradebook from the shards' JSON."""
    from labkit.grading.gradebook import merge_reports

    files = [Path(p) for p in args.paths[1:]]
    if not files:
        raise GradingError("merge: name the JSON files of the shards (labkit check --json ...)")
    validate(args)
    if args.csv is None and args.json is None and args.gradebook is None:
        raise GradingError("merge: say where to write it (-o DIR, --csv or --json)")
    report = merge_reports(files)
    csv_path, json_path = args.csv, args.json
    if args.gradebook is not None:
        csv_path = csv_path or Path(args.gradebook) / "results.csv"
        json_path = json_path or Path(args.gradebook) / "results.json"
    for path in report.write(csv_path=csv_path, json_path=json_path, gradebook=args.gradebook):
        print(f"wrote {path}")
    print(f"{len(report.runs)} submissions from {len(files)} files")
    return 0
