"""Reference answers for the capstone exercises; the checks compare learners' answers with these."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Final

import pandas as pd

from labkit.grading import reference_answer
from labkit.load.result import LoadResult
from labkit.report import ALERTS, Report, build_report

CLAIMED: Final = {
    "rps_before": 85.0,
    "rps_after": 320.0,
    "p95_before_ms": 1100.0,
    "p95_after_ms": 180.0,
}
IMPACT_COLUMNS: Final = (
    "optimisation",
    "rps_before",
    "rps_after",
    "p95_before_ms",
    "p95_after_ms",
    "throughput_gain",
    "p95_change",
)
SIGNALS: Final = ("p95", "errors", "cache_hit_rate", "loop_lag", "memory")


@reference_answer
def nearest_rank(sorted_values: Sequence[float], percent: float) -> float:
    """The smallest value with at least ``percent`` % of the values at or below it."""
    rank = max(1, math.ceil(percent / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


@reference_answer
def is_answer(outcome: str) -> bool:
    """A status below 400 (2xx, 3xx); not a 4xx/5xx and not an exception's name."""
    return outcome.isdigit() and int(outcome) < 400


@reference_answer
def summarise(samples: Sequence[tuple[float, str]], duration_s: float) -> dict[str, float]:
    """Requests, throughput, nearest-rank p50/p95/p99 and error rate of raw samples.

    An error is a 4xx or 5xx status or an exception's name (no answer at all); 2xx and 3xx
    are answers, as the load generator counts them.
    """
    latencies = sorted(ms for ms, _ in samples)
    errors = sum(1 for _, outcome in samples if not is_answer(outcome))
    return {
        "requests": len(samples),
        "rps": len(samples) / duration_s,
        "p50_ms": nearest_rank(latencies, 50),
        "p95_ms": nearest_rank(latencies, 95),
        "p99_ms": nearest_rank(latencies, 99),
        "error_rate": errors / len(samples),
    }


@reference_answer
def impact_table(baseline: LoadResult, steps: Sequence[tuple[str, LoadResult]]) -> pd.DataFrame:
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
def largest_impact(table: pd.DataFrame) -> str:
    """The optimisation whose own step raised throughput the most."""
    best = int(table["throughput_gain"].to_numpy().argmax())
    return str(table["optimisation"].iloc[best])


@reference_answer
def cache_hit_rate(result: LoadResult) -> float | None:
    """Hits (L1 + L2) over lookups, from the server's counters; None when never asked."""
    counters = (result.server or {}).get("counters") or {}
    hits = counters.get("cache_hits_l1", 0) + counters.get("cache_hits_l2", 0)
    lookups = hits + counters.get("cache_misses", 0)
    return hits / lookups if lookups else None


@reference_answer
def alert_states(result: LoadResult, memory_limit_mb: float) -> dict[str, bool]:
    """True for each signal past its alert threshold (strictly past: at the bound is fine)."""
    server = result.server or {}
    hit_rate = cache_hit_rate(result)
    lag = server.get("loop_lag_ms_max")
    rss = server.get("rss_mb_max")
    return {
        "p95": result.p95 > ALERTS["p95_ms"],
        "errors": result.error_rate > ALERTS["error_rate"],
        "cache_hit_rate": hit_rate is not None and hit_rate < ALERTS["cache_hit_rate"],
        "loop_lag": lag is not None and lag > ALERTS["loop_lag_ms"],
        "memory": rss is not None and rss / memory_limit_mb > ALERTS["memory_fraction"],
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
def make_report(
    baseline: LoadResult, steps: Sequence[tuple[str, LoadResult]], **options: Any
) -> Report:
    """The Backend Optimisation Report: baseline vs the last step, every step in between."""
    after = steps[-1][1]
    notes = {"summary": claims_note(baseline, after)}
    return build_report(baseline, after, steps=list(steps), notes=notes, **options)
