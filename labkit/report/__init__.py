"""The Backend Optimisation Report, built only from measured load results."""

from __future__ import annotations

from labkit.report.builder import ALERTS, SECTIONS, Report, build_report

__all__ = ["ALERTS", "SECTIONS", "Report", "build_report"]
