"""The ``labkit`` command: one sub-command per module in ``labkit.commands``.

Each command module defines ``register(subparsers)`` which adds its parser and sets
``func`` (a callable taking the parsed namespace and returning an exit code).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib import import_module

from labkit.errors import LabkitError

COMMANDS = (
    "doctor",
    "data",
    "serve",
    "loadtest",
    "report",
    "optimize",
    "check",
    "progress",
    "release",
)


def build_parser() -> argparse.ArgumentParser:
    from labkit import __version__

    parser = argparse.ArgumentParser(
        prog="labkit", description="Backend performance lab: data, measurement, grading."
    )
    parser.add_argument("--version", action="version", version=f"labkit {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        import_module(f"labkit.commands.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except LabkitError as exc:
        print(f"labkit {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"labkit {args.command}: interrupted", file=sys.stderr)
        return 130
