"""06.report: the Backend Optimisation Report, complete and true to the recorded runs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from labkit.grading import Grader, exercise, reference_answer
from labkit.lessons.n06_capstone.reading import first_number, first_table, report_text, sections
from labkit.lessons.n06_capstone.recorded_runs import optimisation_runs, second_seed
from labkit.load.result import LoadResult
from labkit.report import SECTIONS, Report, build_report

CLAIMED: Final = {
    "rps_before": 85.0,
    "rps_after": 320.0,
    "p95_before_ms": 1100.0,
    "p95_after_ms": 180.0,
}


@reference_answer
def claims_note(baseline: LoadResult, after: LoadResult) -> str:
    """A sentence setting the claimed overall figures beside the measured ones."""
    return (
        f"Claimed for a comparable API: throughput {CLAIMED['rps_before']:.0f} → "
        f"{CLAIMED['rps_after']:.0f} req/s, p95 {CLAIMED['p95_before_ms']:,.0f} → "
        f"{CLAIMED['p95_after_ms']:.0f} ms. Measured here: {baseline.rps:,.0f} → "
        f"{after.rps:,.0f} req/s, p95 {baseline.p95:,.1f} → {after.p95:,.1f} ms."
    )


@reference_answer
def make_report_reference(
    baseline: LoadResult, steps: Sequence[tuple[str, LoadResult]], **options: Any
) -> Report:
    """The Backend Optimisation Report: baseline vs the last step, every step in between."""
    after = steps[-1][1]
    notes = {"summary": claims_note(baseline, after)}
    return build_report(baseline, after, steps=list(steps), notes=notes, **options)


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
async def grade_report(g: Grader, make_report: Any) -> None:
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
