"""Notebook 06 — Capstone: load test the lab API, diagnose it, measure each optimisation, write
the report.

One module per exercise, in notebook order (``EXERCISES``): ``summary`` (06.latency_summary),
``breaking_point`` (06.breaking_point), ``diagnose`` (06.diagnose), ``impact``
(06.impact_table), ``alerts`` (06.alerts) and ``report`` (06.report). ``recorded_runs`` holds
the seeded measurements the checks grade on, ``reading`` reads a report back, ``live`` the
notebook's measurements against a real server.
"""

from __future__ import annotations

from labkit.lessons.n06_capstone import alerts, breaking_point, diagnose, impact, report, summary
from labkit.lessons.n06_capstone.alerts import alert_scenarios
from labkit.lessons.n06_capstone.diagnose import FIXES
from labkit.lessons.n06_capstone.live import (
    CORE_ENDPOINTS,
    ORDER,
    capstone_endpoints,
    collect_samples,
    relabel,
    reports_dir,
)
from labkit.lessons.n06_capstone.recorded_runs import optimisation_runs
from labkit.lessons.n06_capstone.summary import sample_sets

EXERCISES = (
    "06.latency_summary",
    "06.breaking_point",
    "06.diagnose",
    "06.impact_table",
    "06.alerts",
    "06.report",
)

# The exercise modules, and what the notebook uses.
__all__ = [
    "CORE_ENDPOINTS",
    "EXERCISES",
    "FIXES",
    "ORDER",
    "alert_scenarios",
    "alerts",
    "breaking_point",
    "capstone_endpoints",
    "collect_samples",
    "diagnose",
    "impact",
    "optimisation_runs",
    "relabel",
    "report",
    "reports_dir",
    "sample_sets",
    "summary",
]
