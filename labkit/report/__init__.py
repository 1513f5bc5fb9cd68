"""The Backend Optimisation Report, built only from measured load results."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from labkit.report.builder import ALERTS, SECTIONS, Report, build_report

__all__ = ["ALERTS", "SECTIONS", "Report", "build_report"]


def __getattr__(name: str) -> Any:
    # pandas and matplotlib load on first use; labkit.report.choices stays light for the CLI.
    if name in __all__:
        return getattr(import_module("labkit.report.builder"), name)
    raise AttributeError(f"module 'labkit.report' has no attribute {name!r}")
