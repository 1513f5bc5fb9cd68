"""06.latency_summary: p50/p95/p99, throughput and error rate from raw samples."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import Any, Final

from labkit.grading import Grader, exercise, reference_answer
from labkit.lessons.n06_capstone.recorded_runs import Sample, latency_samples


def sample_sets(seed: int) -> list[tuple[list[Sample], float]]:
    """(samples, duration in s) cases for the percentile exercise: big, small and tiny.

    Sizes where N/100 × n falls below a half (101 and 13 samples) separate the nearest rank
    (ceil) from ``round()``; two sets of 101 samples with other values defeat an answer that
    remembers results by input length; 201/204/3xx answers separate "not an error" from
    "not 200".
    """
    rng = random.Random(seed)
    mix = 0.15
    return [
        (latency_samples(rng, 2000, median_ms=40, error_rate=0.04, other_successes=mix), 10.0),
        (latency_samples(rng, 101, median_ms=120, tail=0.1, error_rate=0.05), 2.0),
        (latency_samples(rng, 20, median_ms=15, error_rate=0.1, exception_share=0.5), 1.0),
        (latency_samples(rng, 13, median_ms=60, error_rate=0.1, other_successes=0.3), 1.5),
        (latency_samples(rng, 101, median_ms=35, tail=0.02, other_successes=mix), 1.0),
        (latency_samples(rng, 7, median_ms=300, error_rate=0.0), 0.5),
        (latency_samples(rng, 1, median_ms=80), 0.25),
        # fixed: every outcome kind once, latencies tied
        (
            [
                *((10.0, "200"), (10.0, "201"), (10.0, "304"), (20.0, "404"), (20.0, "503")),
                *((30.0, "Timeout"), (30.0, "204"), (40.0, "301")),
            ],
            2.0,
        ),
    ]


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
def summarise_reference(
    samples: Sequence[tuple[float, str]], duration_s: float
) -> dict[str, float]:
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


def close(got: Any, expected: float) -> bool:
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
async def grade_latency_summary(g: Grader, summarise: Any) -> None:
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
        expected = summarise_reference(samples, duration)
        for key in SUMMARY_KEYS:
            total += 1
            if key not in got:
                g.expect(False, f"the dict has no {key!r} key (it has {sorted(map(str, got))})")
            if close(got[key], expected[key]):
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
