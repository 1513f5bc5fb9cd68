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
    parser = argparse.ArgumentParser(
        prog="labkit", description="Backend performance lab: data, measurement, grading."
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        module_name = f"labkit.commands.{name}"
        try:
            module = import_module(module_name)
        except ModuleNotFoundError as exc:
            # An optional part that is not installed in this checkout: leave its command out
            # rather than break every other command. tests/test_package.py insists all exist.
            if exc.name != module_name:
                raise
            continue
        module.register(subparsers)
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
