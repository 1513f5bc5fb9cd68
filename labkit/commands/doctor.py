"""``labkit doctor``: check Python, packages, the dataset, profilers and the network."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "doctor",
        help="check that this machine is ready for the course",
        description="Check Python, packages, the dataset, profilers and a free local port.",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from labkit.doctor import run_checks

    report = run_checks()
    print(report)
    return 0 if report.ok else 1
