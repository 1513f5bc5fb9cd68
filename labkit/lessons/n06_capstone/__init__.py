"""Notebook 06 — Capstone: load test the lab API, measure each optimisation, write the report.

Importing the package registers the exercises, in notebook order: ``EXERCISES``.
"""

from __future__ import annotations

from labkit.lessons.n06_capstone import checks, diagnose
from labkit.lessons.n06_capstone.fixtures import alert_scenarios, optimisation_runs, sample_sets

EXERCISES = ("06.latency_summary", "06.diagnose", "06.impact_table", "06.alerts", "06.report")

__all__ = ["EXERCISES", "alert_scenarios", "checks", "diagnose", "optimisation_runs", "sample_sets"]
