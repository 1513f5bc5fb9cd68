"""06.impact_table: each optimisation's own contribution, and the biggest win."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import pandas as pd

from labkit.grading import Grader, exercise, reference_answer
from labkit.lessons.n06_capstone.recorded_runs import optimisation_runs, second_seed
from labkit.lessons.n06_capstone.summary import close
from labkit.load.result import LoadResult

IMPACT_COLUMNS: Final = (
    "optimisation",
    "rps_before",
    "rps_after",
    "p95_before_ms",
    "p95_after_ms",
    "throughput_gain",
    "p95_change",
)


def ranking_table() -> list[dict[str, Any]]:
    """A fixed impact table whose winners differ by every wrong rule: the largest relative
    gain (+indexes, ×3.0) is not the largest absolute gain (+cache, +180 req/s), not the
    largest rps_after (+compression), not the largest p95_change (+fast_json) and not the
    largest p95 drop (+cache)."""
    rows = [
        ("+indexes", 50.0, 150.0, 900.0, 700.0),
        ("+cache", 150.0, 330.0, 700.0, 200.0),
        ("+fast_json", 330.0, 300.0, 200.0, 230.0),
        ("+compression", 300.0, 420.0, 230.0, 150.0),
        ("+keyset", 420.0, 400.0, 150.0, 160.0),
    ]
    return [
        {
            "optimisation": name,
            "rps_before": before,
            "rps_after": after,
            "p95_before_ms": p95_before,
            "p95_after_ms": p95_after,
            "throughput_gain": after / before,
            "p95_change": p95_after / p95_before,
        }
        for name, before, after, p95_before, p95_after in rows
    ]


@reference_answer
def impact_table_reference(
    baseline: LoadResult, steps: Sequence[tuple[str, LoadResult]]
) -> pd.DataFrame:
    """One row per cumulative step, compared with the step before it (overall figures)."""
    rows, previous = [], baseline
    for name, result in steps:
        rows.append(
            {
                "optimisation": name,
                "rps_before": previous.rps,
                "rps_after": result.rps,
                "p95_before_ms": previous.p95,
                "p95_after_ms": result.p95,
                "throughput_gain": result.rps / previous.rps,
                "p95_change": result.p95 / previous.p95,
            }
        )
        previous = result
    return pd.DataFrame(rows, columns=list(IMPACT_COLUMNS))


@reference_answer
def largest_impact_reference(table: pd.DataFrame) -> str:
    """The optimisation whose own step raised throughput the most."""
    best = int(table["throughput_gain"].to_numpy().argmax())
    return str(table["optimisation"].iloc[best])


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
        for row in impact_table_reference(baseline, steps).to_dict(orient="records")
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
            ok = value == want if key == "optimisation" else close(value, want)
            matched += ok
            if not ok and first_miss is None:
                first_miss = (row_want["optimisation"], key, value, want)
    return matched, len(expected) * len(IMPACT_COLUMNS), first_miss


@exercise(
    "06.impact_table",
    title="Each optimisation's own contribution, and the biggest win",
    answers=("impact_table", "largest_impact"),
    hint="Walk the steps keeping the previous result: before = previous, after = this step.",
    points=2,
    timeout=15.0,
)
async def grade_impact_table(g: Grader, impact_table: Any, largest_impact: Any) -> None:
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
    tables = [impact_table_reference(baseline, steps) for baseline, steps in runs]
    tables.append(pd.DataFrame(ranking_table(), columns=list(IMPACT_COLUMNS)))
    right = 0
    for table in tables:
        winner = g.call(largest_impact, table.copy())
        want = largest_impact_reference(table)
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
