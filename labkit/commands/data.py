"""``labkit data build|info``: build the seeded datasets and look at what is there."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from labkit.data.schema import DEFAULT_SEED, SIZES


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "data", help="build or inspect the course datasets", description=__doc__
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    build = actions.add_parser("build", help="generate a dataset (deterministic for a seed)")
    build.add_argument("--size", choices=list(SIZES), default="small", help="default: small")
    build.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"default: {DEFAULT_SEED}")
    build.add_argument("--out", type=Path, help="file or folder (default: the data folder)")
    build.add_argument(
        "--if-missing",
        action="store_true",
        help="do nothing when a healthy copy is already there",
    )
    build.add_argument(
        "--force",
        action="store_true",
        help="replace an existing --out file even if it is not a labkit dataset",
    )
    build.add_argument("--no-progress", action="store_true", help="no progress bar")
    build.set_defaults(func=run)

    info = actions.add_parser("info", help="describe datasets (all in the data folder, or one)")
    info.add_argument("path", nargs="?", type=Path, help="a dataset file")
    info.add_argument(
        "--verify", action="store_true", help="recompute the fingerprint from every row"
    )
    info.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.action == "build":
        return _build(args)
    return _info(args)


def _build(args: argparse.Namespace) -> int:
    from labkit.data import build, ensure, find_problem, read_dataset

    if args.if_missing:
        if args.out is None:
            ds = ensure(args.size, args.seed, progress=not args.no_progress)
            _report(ds, "" if ds.built_now else "already present, healthy")
            return 0
        if find_problem(args.out, args.size, args.seed) is None:
            _report(read_dataset(args.out), "already present, healthy")
            return 0
    progress = not args.no_progress and sys.stderr.isatty()
    ds = build(args.size, args.seed, args.out, progress=progress, force=args.force)
    _report(ds, "")
    return 0


def rebuild_hint(path: Path, size: str | None = None, seed: int | None = None) -> str:
    what = f"--size {size} --seed {seed}" if size is not None else "--size SIZE"
    return f"rebuild it with `labkit data build {what} --out {path} --force`"


def _report(ds: Any, note: str) -> None:
    print(ds)
    if note:
        print(f"({note})")
    elif ds.seconds > 0:
        print(f"{ds.rows / ds.seconds:,.0f} rows/s")


def _info(args: argparse.Namespace) -> int:
    from labkit.data import data_dir, find_problem, read_dataset
    from labkit.errors import DatasetError

    if args.path is not None:
        try:
            ds = read_dataset(args.path)
        except DatasetError as exc:
            raise DatasetError(f"{exc}; {rebuild_hint(args.path)}") from None
        print(ds)
        problem = find_problem(args.path, deep=args.verify)
        checked = "fingerprint recomputed" if args.verify else "quick check"
        if problem is not None:
            hint = rebuild_hint(args.path, ds.size, ds.seed)
            print(f"labkit data: {args.path} {problem}; {hint}", file=sys.stderr)
            return 1
        print(f"health ({checked}): ok")
        return 0
    folder = data_dir()
    files = sorted(folder.glob("*.sqlite"))
    print(f"data folder: {folder}")
    if not files:
        print("no datasets yet: `labkit data build --size small`")
        return 0
    worst = 0
    for file in files:
        try:
            ds = read_dataset(file)
        except DatasetError as exc:
            print(f"  {file.name}: {exc}")
            worst = 1
            continue
        problem = find_problem(file, deep=args.verify)
        state = problem or "ok"
        worst = worst or int(problem is not None)
        print(
            f"  {file.name:<22} {ds.size:<6} seed {ds.seed:<6} {ds.rows:>10,} rows  "
            f"{ds.fingerprint[:12]}…  {state}"
        )
    return worst
