"""The Backend Optimisation Report, built only from measured load results."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from labkit.lazy import lazy_attribute

if TYPE_CHECKING:  # pragma: no cover
    from labkit.report.builder import SECTIONS, build_report
    from labkit.report.document import Report
    from labkit.report.guidance import ALERTS

__all__ = ["ALERTS", "SECTIONS", "Report", "build_report"]

# pandas and matplotlib load on first use; labkit.report.choices stays light for the CLI.
_LAZY = {
    "ALERTS": "labkit.report.guidance",
    "SECTIONS": "labkit.report.builder",
    "Report": "labkit.report.document",
    "build_report": "labkit.report.builder",
}


def __getattr__(name: str) -> Any:
    return lazy_attribute(__name__, _LAZY, name)
