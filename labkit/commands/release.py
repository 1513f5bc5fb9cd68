"""``labkit release``: write the student notebooks from the solution notebooks (or check them)."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from labkit.errors import OutputError


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
    for target, released in release_into_place(solutions, out, release_all):
        for warning in released.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        blocks = f"{released.blocks} solution block{'s' if released.blocks != 1 else ''}"
        print(f"wrote {target} ({blocks} replaced)")
    return 0


def release_into_place(solutions: Path, out: Path, release_all: Any) -> list[tuple[Path, Any]]:
    """Write every student notebook into a temporary folder next to ``out``, check that every
    target can be replaced, then move them into place: all of the release or none of it."""
    if out.exists() and not out.is_dir():
        raise OutputError(f"--out {out} is a file, not a folder")
    parent = out.resolve().parent
    if not parent.is_dir():
        raise OutputError(f"cannot write to {out}: {parent} is not a folder")
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name or 'out'}.release-", dir=parent))
    except OSError as exc:
        raise OutputError(f"cannot write to {parent}: {exc.strerror or exc}") from None
    try:
        staged = release_all(solutions, staging)
        moves = [
            (staging / target.name, out / target.name, released) for target, released in staged
        ]
        for _, final, _ in moves:
            if (final.exists() or final.is_symlink()) and not final.is_file():
                raise OutputError(f"cannot write {final}: it is not a regular file (a folder?)")
        out.mkdir(parents=True, exist_ok=True)
        for source, final, _ in moves:
            if final.is_file() and final.read_bytes() == source.read_bytes():
                continue  # unchanged: keep the file (and its timestamp) as it is
            os.replace(source, final)
        return [(final, released) for _, final, released in moves]
    except OSError as exc:
        raise OutputError(f"cannot write the release into {out}: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
