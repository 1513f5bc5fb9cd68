"""06.alerts: alert states from the monitoring thresholds."""

from __future__ import annotations

import random
from typing import Any, Final

from labkit.grading import Grader, exercise, reference_answer
from labkit.lessons.n06_capstone.recorded_runs import (
    EXCEPTIONS,
    latency_samples,
    result_from_samples,
)
from labkit.load.result import LoadResult
from labkit.report import ALERTS

SIGNALS: Final = ("p95", "errors", "cache_hit_rate", "loop_lag", "memory")


def controlled_run(
    rng: random.Random,
    *,
    requests: int,
    median_ms: float,
    tail: float,
    errors: int,
    counters: dict[str, int],
    loop_lag_ms: float | None,
    rss_mb: float,
    label: str,
) -> LoadResult:
    """A run with exactly ``errors`` failed requests (half exceptions, half 5xx)."""
    samples = latency_samples(rng, requests, median_ms=median_ms, tail=tail, other_successes=0.1)
    for index in rng.sample(range(requests), errors):
        outcome = rng.choice(EXCEPTIONS) if index % 2 else rng.choice(("500", "503", "429"))
        samples[index] = (samples[index][0], outcome)
    server = {
        "cpu_percent_mean": rng.uniform(20, 90),
        "cpu_percent_max": 100.0,
        "rss_mb_max": rss_mb,
        "loop_lag_ms_max": loop_lag_ms,
        "counters": {"requests": requests, **counters},
    }
    return result_from_samples(
        {"/api/products/1": samples}, duration=5.0, label=label, server=server
    )


def alert_scenarios(seed: int) -> list[tuple[str, LoadResult, float]]:
    """(name, result, memory limit in MiB): runs exactly at, just past and far from each bound."""
    rng = random.Random(seed)
    limit = float(rng.choice((256, 512, 1024)))
    scenarios = [
        (
            "every signal exactly at its bound",
            controlled_run(
                rng,
                requests=1000,
                median_ms=rng.uniform(20, 60),
                tail=0.02,
                errors=10,  # 1.0 %
                counters={"cache_hits_l1": 40, "cache_hits_l2": 30, "cache_misses": 30},
                loop_lag_ms=50.0,
                rss_mb=0.8 * limit,
                label="at the bounds",
            ),
            limit,
        ),
        (
            "a slow tail, 1.1% errors, a cold cache",
            controlled_run(
                rng,
                requests=1000,
                median_ms=rng.uniform(180, 220),
                tail=0.12,  # p95 far out in the tail while the mean stays low
                errors=11,
                counters={"cache_hits_l2": 60, "cache_misses": 40},
                loop_lag_ms=50.5,
                rss_mb=0.81 * limit,
                label="past the bounds",
            ),
            limit,
        ),
        (
            "no cache and no loop-lag sample",
            controlled_run(
                rng,
                requests=400,
                median_ms=rng.uniform(5, 15),
                tail=0.01,
                errors=0,
                counters={},
                loop_lag_ms=None,
                rss_mb=rng.uniform(0.2, 0.5) * limit,
                label="not sampled",
            ),
            limit,
        ),
    ]
    for index in range(4):
        hits = rng.randint(0, 900)
        scenarios.append(
            (
                f"seeded run {index + 1}",
                controlled_run(
                    rng,
                    requests=rng.randint(200, 1500),
                    median_ms=rng.uniform(20, 500),
                    tail=rng.uniform(0.0, 0.15),
                    errors=rng.randint(0, 40),
                    counters={
                        "cache_hits_l1": hits,
                        "cache_hits_l2": rng.randint(0, 200),
                        "cache_misses": rng.randint(0, 500),
                    },
                    loop_lag_ms=rng.uniform(1, 120),
                    rss_mb=rng.uniform(0.3, 1.0) * limit,
                    label=f"seeded {index + 1}",
                ),
                limit,
            )
        )
    return scenarios


@reference_answer
def cache_hit_rate(result: LoadResult) -> float | None:
    """Hits (L1 + L2) over lookups, from the server's counters; None when never asked."""
    counters = (result.server or {}).get("counters") or {}
    hits = counters.get("cache_hits_l1", 0) + counters.get("cache_hits_l2", 0)
    lookups = hits + counters.get("cache_misses", 0)
    return hits / lookups if lookups else None


@reference_answer
def alert_states_reference(result: LoadResult, memory_limit_mb: float) -> dict[str, bool]:
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


@exercise(
    "06.alerts",
    title="Alert states from the monitoring thresholds",
    answers=("alert_states",),
    hint="Compare strictly: alert when p95 > 500 ms, errors > 1% (0.01), hit rate < 70%, "
    "loop lag > 50 ms, RSS > 80% of the limit; a signal never sampled does not alert.",
    points=2,
    timeout=15.0,
)
async def grade_alerts(g: Grader, alert_states: Any) -> None:
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
        want = alert_states_reference(result, limit)
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
