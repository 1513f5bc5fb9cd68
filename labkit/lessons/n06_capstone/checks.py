"""The capstone's checks: figures from raw samples, the impact of each step, alert states and
the report. Each grades on seeded, recorded measurements (never on live load) and says so:
its card is about "the recorded runs of this exercise", not the live figures beside it.

A wrong figure is a "not yet" with the first difference (never a "correct result, but …"):
each check calls the answer on several fixtures per attempt — of the same size, so an answer
remembering results by input length fails — and on a second seed's runs."""

from __future__ import annotations

import math
import random
from typing import Any, Final

import pandas as pd

from labkit.grading import Grader, exercise
from labkit.lessons.n06_capstone import reference
from labkit.lessons.n06_capstone.fixtures import (
    alert_scenarios,
    optimisation_runs,
    ranking_table,
    sample_sets,
    second_seed,
)
from labkit.lessons.n06_capstone.reading import first_number, first_table, report_text, sections
from labkit.report import SECTIONS

SUMMARY_KEYS: Final = ("requests", "rps", "p50_ms", "p95_ms", "p99_ms", "error_rate")
SUMMARY_HINTS: Final = {
    "requests": "requests is how many samples there are.",
    "rps": "rps is requests divided by the duration in seconds.",
    "p50_ms": "Nearest rank: sort the latencies; pN is the value at position ceil(N/100 × n) "
    "counting from 1 (index ceil(N/100 × n) - 1).",
    "error_rate": "An error is a 4xx or 5xx status or an exception such as 'Timeout' (no answer "
    "at all). 201, 204 and 3xx are answers, not errors — and the outcome is text: compare "
    "'503' as a string, or convert only when outcome.isdigit().",
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
    if first_miss is not None:
        index, key, got_value, want = first_miss
        samples, _ = cases[index]
        g.expect(
            False,
            f"{total - matched} of {total} figures differ from the recorded samples of this "
            f"exercise (first: {key} of {len(samples):,} samples: expected {want:g}, "
            f"got {got_value!r})",
            hint=SUMMARY_HINTS[key],
        )
    g.measure(
        "figures matching the recorded samples of this exercise",
        f"{matched} of {total}",
        target=f"all {total}",
        ok=True,
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


def _impact_misses(
    g: Grader, impact_table: Any, baseline: Any, steps: list[Any]
) -> tuple[int, int, tuple[str, str, Any, Any] | None]:
    """(cells matched, cells, first miss) of the answer's table for one set of runs."""
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
    return matched, len(expected) * len(reference.IMPACT_COLUMNS), first_miss


@exercise(
    "06.impact_table",
    title="Each optimisation's own contribution, and the biggest win",
    answers=("impact_table", "largest_impact"),
    hint="Walk the steps keeping the previous result: before = previous, after = this step.",
    points=2,
    timeout=15.0,
)
def grade_impact_table(g: Grader, impact_table: Any, largest_impact: Any) -> None:
    # Two sets of recorded runs (this attempt's seed and another), six steps each: an answer
    # remembering its table by the number of steps returns the first one twice.
    runs = [optimisation_runs(g.seed), optimisation_runs(second_seed(g.seed))]
    matched = cells = 0
    for baseline, steps in runs:
        got, of, first_miss = _impact_misses(g, impact_table, baseline, steps)
        matched, cells = matched + got, cells + of
        if first_miss is not None:
            step, key, value, want = first_miss
            shown = f"{want:g}" if isinstance(want, float) else repr(want)
            g.expect(
                False,
                f"{of - got} of {of} cells differ from the recorded runs of this exercise "
                f"(first: {step} {key}: expected {shown}, got {value!r})",
                hint=IMPACT_HINTS[key],
            )
    g.measure(
        "cells matching the recorded runs of this exercise",
        f"{matched} of {cells}",
        target=f"all {cells}",
        ok=True,
    )
    # The seeded tables, then a fixed one where the largest relative gain, the largest
    # absolute gain, the largest rps_after and the largest p95_change are four different steps.
    tables = [reference.impact_table(baseline, steps) for baseline, steps in runs]
    tables.append(pd.DataFrame(ranking_table(), columns=list(reference.IMPACT_COLUMNS)))
    right = 0
    for table in tables:
        winner = g.call(largest_impact, table.copy())
        want = reference.largest_impact(table)
        gain = table.set_index("optimisation")["throughput_gain"]
        if winner != want:
            indexed = table.set_index("optimisation")
            absolute = indexed["rps_after"] - indexed["rps_before"]
            said = (
                f" ({winner} has the largest absolute gain, +{absolute[winner]:,.0f} req/s; "
                "a step on a slow server gains fewer req/s for the same ×)"
                if winner in absolute.index and absolute.idxmax() == winner
                else ""
            )
            g.expect(
                False,
                f"largest_impact named {winner!r} on the recorded runs of this exercise; the "
                f"largest throughput_gain is {want} (×{gain[want]:.2f} on its own step){said}",
                hint="Pick the row with the largest throughput_gain (after / before) — not "
                "the largest rps_after (whichever step came last), nor the most req/s gained.",
            )
        right += 1
    g.measure(
        "largest impact named right on the recorded runs of this exercise",
        f"{right} of {len(tables)}",
        target=f"all {len(tables)}",
        ok=True,
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
    random.Random(g.seed).shuffle(scenarios)  # an answer replaying states by call order fails
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
    if first_miss is not None:
        name, signal, value, alerting = first_miss
        g.expect(
            False,
            f"{total - right} of {total} alert states are wrong on the recorded runs of this "
            f"exercise (first: {signal} for '{name}': expected {alerting}, got {value!r})",
        )
    g.measure(
        "alert states right on the recorded runs of this exercise",
        f"{right} of {total}",
        target=f"all {total}",
        ok=True,
    )


SUMMARY_ROWS: Final = (
    ("p50", "p50_ms", 0.051),
    ("p95", "p95_ms", 0.051),
    ("p99", "p99_ms", 0.051),
    ("throughput", "rps", 0.51),
    ("error rate", "error_rate", 0.0000501),
)


def _report_problems(g: Grader, make_report: Any, baseline: Any, steps: list[Any]) -> list[str]:
    """What is wrong with the answer's report for one set of recorded runs (empty: nothing)."""
    after = steps[-1][1]
    markdown = report_text(g.call(make_report, baseline, list(steps)))
    g.expect(
        markdown is not None,
        "make_report should return the Report from build_report (or its Markdown text)",
    )
    assert markdown is not None
    found = sections(markdown)
    missing = [name for name in SECTIONS if name not in found]
    if missing:
        return [f"sections missing: {', '.join(missing)}"]
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
                wrong.append(f"results summary {label} {which}: measured {want:,.4g}, "
                             f"report says {value}")  # fmt: skip
    step_text = found.get("Optimisations, one at a time", "")
    wrong += [f"step {name} not in the report" for name, _ in steps if name not in step_text]
    return wrong


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
    # This attempt's recorded runs and a second seed's: a report remembered from the first
    # call (or typed in) does not match the second.
    runs = [optimisation_runs(g.seed), optimisation_runs(second_seed(g.seed))]
    for attempt, (baseline, steps) in enumerate(runs, start=1):
        problems = _report_problems(g, make_report, baseline, steps)
        if problems:
            g.expect(
                False,
                f"report {attempt} of {len(runs)} on the recorded runs of this exercise: "
                f"{len(problems)} problem(s); first: {problems[0]}",
                hint="build_report(baseline, steps[-1][1], steps=steps, notes=...): the "
                "baseline is the first run, 'after' the last step, every step goes in, and "
                "every number comes from the runs, none from a claim.",
            )
    checked = len(SECTIONS) + len(SUMMARY_ROWS) * 2
    g.measure(
        "reports complete and true to the recorded runs of this exercise",
        f"{len(runs)} of {len(runs)}",
        target=f"all {len(runs)} ({checked} items each, plus every step)",
        ok=True,
    )
