"""The capstone's checks: figures from raw samples, the impact of each step, alert states and
the report. Each grades on seeded, recorded measurements (never on live load)."""

from __future__ import annotations

import math
from typing import Any, Final

from labkit.grading import Grader, exercise
from labkit.lessons.n06_capstone import reference
from labkit.lessons.n06_capstone.fixtures import (
    alert_scenarios,
    optimisation_runs,
    sample_sets,
)
from labkit.lessons.n06_capstone.reading import first_number, first_table, report_text, sections
from labkit.report import SECTIONS

SUMMARY_KEYS: Final = ("requests", "rps", "p50_ms", "p95_ms", "p99_ms", "error_rate")
SUMMARY_HINTS: Final = {
    "requests": "requests is how many samples there are.",
    "rps": "rps is requests divided by the duration in seconds.",
    "p50_ms": "Nearest rank: sort the latencies; pN is the value at position ceil(N/100 × n) "
    "counting from 1 (index ceil(N/100 × n) - 1).",
    "error_rate": "Every outcome that is not a 2xx status is an error: 4xx and 5xx responses "
    "as well as exceptions such as 'Timeout'.",
}
SUMMARY_HINTS["p95_ms"] = SUMMARY_HINTS["p99_ms"] = SUMMARY_HINTS["p50_ms"]


def _close(got: Any, expected: float) -> bool:
    if isinstance(got, bool) or not isinstance(got, (int, float)):
        return False
    return math.isclose(float(got), expected, rel_tol=1e-9, abs_tol=1e-9)


@exercise(
    "06.latency_summary",
    title="p50/p95/p99, throughput and error rate from raw samples",
    answers=("summarise",),
    hint="Sort the latencies and take nearest ranks; count every non-2xx outcome as an error.",
    points=2,
    timeout=15.0,
)
def grade_latency_summary(g: Grader, summarise: Any) -> None:
    cases = sample_sets(g.seed)
    matched = total = 0
    first_miss: tuple[int, str, Any, float] | None = None
    for index, (samples, duration) in enumerate(cases):
        got = g.call(summarise, list(samples), duration)
        g.expect(
            isinstance(got, dict),
            f"summarise should return a dict with {', '.join(SUMMARY_KEYS)}; "
            f"it returned {type(got).__name__}",
        )
        expected = reference.summarise(samples, duration)
        for key in SUMMARY_KEYS:
            total += 1
            if key not in got:
                g.expect(False, f"the dict has no {key!r} key (it has {sorted(map(str, got))})")
            if _close(got[key], expected[key]):
                matched += 1
            elif first_miss is None:
                first_miss = (index, key, got[key], expected[key])
    hint = None
    detail = ""
    if first_miss is not None:
        index, key, got_value, want = first_miss
        samples, _ = cases[index]
        detail = (
            f" (first: {key} of {len(samples):,} samples: expected {want:g}, got {got_value!r})"
        )
        hint = SUMMARY_HINTS[key]
    g.measure(
        "figures matching the samples" + detail,
        f"{matched} of {total}",
        target=f"all {total}",
        ok=matched == total,
        hint=hint,
    )


IMPACT_HINTS: Final = {
    "rps_before": "Each step's 'before' is the step before it (the baseline for the first "
    "step): the steps are cumulative, so comparing every step with the baseline credits one "
    "optimisation with the work of all the earlier ones.",
    "p95_before_ms": "Use the overall p95 (result.p95 or result.figure('p95_ms')), not the mean "
    "or one endpoint's.",
    "throughput_gain": "throughput_gain is rps_after / rps_before.",
    "p95_change": "p95_change is p95_after_ms / p95_before_ms (below 1 means faster).",
}
IMPACT_HINTS["rps_after"] = IMPACT_HINTS["rps_before"]
IMPACT_HINTS["p95_after_ms"] = IMPACT_HINTS["p95_before_ms"]
IMPACT_HINTS["optimisation"] = "One row per step, in the order measured, named as in steps."


def _records(table: Any) -> list[dict[str, Any]] | None:
    """A DataFrame (column or index 'optimisation') or a list of dicts, as a list of dicts."""
    if hasattr(table, "to_dict") and hasattr(table, "columns"):
        if "optimisation" not in table.columns and table.index.name == "optimisation":
            table = table.reset_index()
        records: list[dict[str, Any]] = table.to_dict(orient="records")
        return records
    if isinstance(table, (list, tuple)) and all(isinstance(row, dict) for row in table):
        return [dict(row) for row in table]
    return None


@exercise(
    "06.impact_table",
    title="Each optimisation's own contribution, and the biggest win",
    answers=("impact_table", "largest_impact"),
    hint="Walk the steps keeping the previous result: before = previous, after = this step.",
    points=2,
    timeout=15.0,
)
def grade_impact_table(g: Grader, impact_table: Any, largest_impact: Any) -> None:
    baseline, steps = optimisation_runs(g.seed)
    expected: list[dict[str, Any]] = [
        {str(k): v for k, v in row.items()}
        for row in reference.impact_table(baseline, steps).to_dict(orient="records")
    ]
    got = _records(g.call(impact_table, baseline, list(steps)))
    g.expect(
        got is not None,
        "impact_table should return a DataFrame (or a list of dicts), one row per step",
    )
    assert got is not None
    g.expect(
        len(got) == len(expected),
        f"expected {len(expected)} rows (one per step), got {len(got)}",
    )
    matched, first_miss = 0, None
    for row_got, row_want in zip(got, expected, strict=True):
        for key, want in row_want.items():
            value = row_got.get(key, "<missing>")
            ok = value == want if key == "optimisation" else _close(value, want)
            matched += ok
            if not ok and first_miss is None:
                first_miss = (row_want["optimisation"], key, value, want)
    cells = len(expected) * len(reference.IMPACT_COLUMNS)
    detail, hint = "", None
    if first_miss is not None:
        step, key, value, want = first_miss
        shown = f"{want:g}" if isinstance(want, float) else repr(want)
        detail = f" (first: {step} {key}: expected {shown}, got {value!r})"
        hint = IMPACT_HINTS[key]
    g.measure(
        "cells matching the measured runs" + detail,
        f"{matched} of {cells}",
        target=f"all {cells}",
        ok=matched == cells,
        hint=hint,
    )
    if matched != cells:
        return
    table = reference.impact_table(baseline, steps)
    winner = g.call(largest_impact, table.copy())
    want = reference.largest_impact(table)
    g.measure(
        "largest measured impact",
        winner,
        target=f"{want} (throughput ×{table['throughput_gain'].max():.2f} on its own step)",
        ok=winner == want,
        hint="Pick the row with the largest throughput_gain — not the largest rps_after, which "
        "belongs to whichever step came last, whatever it did.",
    )


@exercise(
    "06.alerts",
    title="Alert states from the monitoring thresholds",
    answers=("alert_states",),
    hint="Compare strictly: alert when p95 > 500 ms, errors > 1% (0.01), hit rate < 70%, "
    "loop lag > 50 ms, RSS > 80% of the limit; a signal never sampled does not alert.",
    points=2,
    timeout=15.0,
)
def grade_alerts(g: Grader, alert_states: Any) -> None:
    scenarios = alert_scenarios(g.seed)
    right = total = 0
    first_miss: tuple[str, str, Any, bool] | None = None
    for name, result, limit in scenarios:
        got = g.call(alert_states, result, limit)
        g.expect(
            isinstance(got, dict),
            f"alert_states should return a dict {{signal: True/False}}; got {type(got).__name__}",
        )
        want = reference.alert_states(result, limit)
        for signal, alerting in want.items():
            total += 1
            value = got.get(signal, "<missing>")
            if value is alerting or (isinstance(value, bool) and value == alerting):
                right += 1
            elif first_miss is None:
                first_miss = (name, signal, value, alerting)
    detail = ""
    if first_miss is not None:
        name, signal, value, alerting = first_miss
        detail = f" (first: {signal} for '{name}': expected {alerting}, got {value!r})"
    g.measure(
        "alert states right" + detail,
        f"{right} of {total}",
        target=f"all {total}",
        ok=right == total,
    )


SUMMARY_ROWS: Final = (
    ("p50", "p50_ms", 0.051),
    ("p95", "p95_ms", 0.051),
    ("p99", "p99_ms", 0.051),
    ("throughput", "rps", 0.51),
    ("error rate", "error_rate", 0.0000501),
)


@exercise(
    "06.report",
    title="The Backend Optimisation Report, complete and true to the measured runs",
    answers=("make_report",),
    hint="build_report(baseline, steps[-1][1], steps=steps, notes=...) — the tuned run is the "
    "last step, and every step goes in.",
    points=3,
    timeout=20.0,
)
def grade_report(g: Grader, make_report: Any) -> None:
    baseline, steps = optimisation_runs(g.seed)
    after = steps[-1][1]
    markdown = report_text(g.call(make_report, baseline, list(steps)))
    g.expect(
        markdown is not None,
        "make_report should return the Report from build_report (or its Markdown text)",
    )
    assert markdown is not None
    found = sections(markdown)
    present = [name for name in SECTIONS if name in found]
    missing = [name for name in SECTIONS if name not in found]
    g.measure(
        "sections present",
        f"{len(present)} of {len(SECTIONS)}",
        target=f"all {len(SECTIONS)}",
        ok=not missing,
        hint=f"Missing: {', '.join(missing)}." if missing else None,
    )
    rows = {row[0].lower(): row for row in first_table(found.get("Results summary", ""))[1:]}
    wrong: list[str] = []
    for label, figure, tolerance in SUMMARY_ROWS:
        row = rows.get(label)
        for column, result in ((1, baseline), (2, after)):
            value = first_number(row[column]) if row and len(row) > column else None
            want = result.figure(figure)
            if figure == "error_rate" and value is not None:
                value /= 100  # written as a percentage
            if value is None or abs(value - want) > tolerance + 1e-9 * abs(want):
                which = "before" if column == 1 else "after"
                wrong.append(f"{label} {which}: measured {want:,.4g}, report says {value}")
    g.measure(
        "results-summary numbers matching the measured runs",
        f"{10 - len(wrong)} of 10",
        target="all 10",
        ok=not wrong,
        hint=(
            f"First: {wrong[0]}. The baseline is the first run and 'after' the last step; "
            "every number must come from them, none from a claim."
            if wrong
            else None
        ),
    )
    step_text = found.get("Optimisations, one at a time", "")
    unlisted = [name for name, _ in steps if name not in step_text]
    g.measure(
        "optimisation steps in the report",
        f"{len(steps) - len(unlisted)} of {len(steps)}",
        target=f"all {len(steps)}",
        ok=not unlisted,
        hint="Pass steps=steps to build_report so each optimisation's before/after appears.",
    )
