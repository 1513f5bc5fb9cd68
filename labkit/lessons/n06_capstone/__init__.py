"""Notebook 06 — Capstone: load test the lab API, measure each optimisation, write the report.

Importing the package registers the exercises (``06.latency_summary`` ... ``06.report``).
"""

from __future__ import annotations

from labkit.lessons.n06_capstone import checks
from labkit.lessons.n06_capstone.fixtures import alert_scenarios, optimisation_runs, sample_sets

__all__ = ["alert_scenarios", "checks", "optimisation_runs", "sample_sets"]
