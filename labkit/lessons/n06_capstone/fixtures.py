"""Seeded, synthetic measurements for the checks: raw samples and recorded ``LoadResult``s.

A check never runs live load: latencies drawn from a seeded generator give the same verdict on
every machine, and another seed gives other numbers (so an answer typed in for one seed fails).
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any, Final

from labkit.load.result import EndpointLoad, LoadResult

Sample = tuple[float, str]  # (latency in ms, outcome: "200", "503", "Timeout", ...)

# Answers that are not "200" but are not errors either (the load generator counts any status
# below 400 as an answer, as k6 does): a created row, an empty answer, a redirect, a 304.
OTHER_SUCCESSES: Final = ("201", "204", "301", "302", "304")

ENDPOINTS: Final = ("/api/users?limit=20", "/api/posts?limit=20", "/api/feed?user_id=1")
EXCEPTIONS: Final = ("Timeout", "ClientConnectorError", "ServerDisconnectedError")
STEP_NAMES: Final = ("eager_loading", "cache", "compression", "keyset", "fast_json", "indexes")


def latency_samples(
    rng: random.Random,
    n: int,
    *,
    median_ms: float,
    tail: float = 0.05,
    error_rate: float = 0.0,
    exception_share: float = 0.3,
    other_successes: float = 0.0,
) -> list[Sample]:
    """``n`` samples: log-normal around ``median_ms``, a slow tail, some errors.

    Of the errors, ``exception_share`` are exceptions (no status at all), the rest 4xx/5xx;
    ``other_successes`` of the answers are 201/204/3xx instead of 200.
    """
    samples: list[Sample] = []
    for _ in range(n):
        ms = median_ms * rng.lognormvariate(0.0, 0.35)
        if rng.random() < tail:
            ms *= rng.uniform(3.0, 8.0)
        outcome = "200"
        if rng.random() < other_successes:
            outcome = rng.choice(OTHER_SUCCESSES)
        if rng.random() < error_rate:
            outcome = (
                rng.choice(EXCEPTIONS)
                if rng.random() < exception_share
                else rng.choice(("500", "502", "503", "504", "429", "404"))
            )
        samples.append((round(ms, 3), outcome))
    return samples


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


def result_from_samples(
    per_endpoint: Mapping[str, Sequence[Sample]],
    *,
    duration: float,
    label: str,
    vus: int = 10,
    server: dict[str, Any] | None = None,
) -> LoadResult:
    """A ``LoadResult`` recorded from samples, exactly as the load generator records them."""
    loads: dict[str, EndpointLoad] = {}
    for endpoint, samples in per_endpoint.items():
        load = EndpointLoad()
        for ms, outcome in samples:
            load.response.record(ms / 1000)
            load.statuses[outcome] += 1
            if outcome.isdigit() and int(outcome) < 400:  # as the load generator counts
                load.ok += 1
            else:
                load.errors += 1
            load.bytes_received += 512
        loads[endpoint] = load
    return LoadResult(
        target="http://127.0.0.1:8000",
        mode="closed",
        duration=duration,
        warmup=1.0,
        endpoints=loads,
        vus=vus,
        started_at="2025-01-01T00:00:00+00:00",
        server=server,
        label=label,
        environment={"optimize": label, "workers": "1"},
    )


def synthetic_run(
    rng: random.Random,
    label: str,
    *,
    speed: float,
    error_rate: float,
    duration: float = 4.0,
    optimize: str = "none",
) -> LoadResult:
    """One closed-loop run whose latencies shrink (and throughput grows) with ``speed``."""
    per_endpoint = {
        endpoint: latency_samples(
            rng,
            max(20, round(60 * speed * rng.uniform(0.95, 1.05))),
            median_ms=base / speed,
            error_rate=error_rate,
        )
        for endpoint, base in zip(ENDPOINTS, (30.0, 45.0, 400.0), strict=True)
    }
    server = {
        "cpu_percent_mean": rng.uniform(40, 95),
        "cpu_percent_max": 100.0,
        "rss_mb_max": rng.uniform(50, 120),
        "loop_lag_ms_max": rng.uniform(2, 80),
        "counters": {"requests": sum(len(s) for s in per_endpoint.values())},
    }
    result = result_from_samples(per_endpoint, duration=duration, label=label, server=server)
    result.environment["optimize"] = optimize
    return result


def optimisation_runs(seed: int) -> tuple[LoadResult, list[tuple[str, LoadResult]]]:
    """A baseline and six cumulative steps, in a seeded order, with seeded effects.

    The biggest single gain is not the last step, and one step makes things slightly worse,
    as real measurements do.
    """
    rng = random.Random(seed)
    baseline = synthetic_run(rng, "baseline", speed=1.0, error_rate=0.03)
    # Which optimisation wins follows from the seed, so neighbouring seeds have other winners
    # and an answer typed in for one seed fails on the next.
    winner = STEP_NAMES[seed % len(STEP_NAMES)]
    order = [name for name in STEP_NAMES if name != winner]
    rng.shuffle(order)  # the order is a choice too
    big = rng.randrange(0, 4)  # one big win, never last
    order.insert(big, winner)
    gains = [rng.uniform(1.05, 1.6) for _ in STEP_NAMES]
    gains[big] = rng.uniform(3.0, 5.0)
    gains[rng.randrange(4, 6)] = rng.uniform(0.75, 0.9)  # one step that costs a little
    steps, speed, errors = [], 1.0, 0.03
    for position, (name, gain) in enumerate(zip(order, gains, strict=True)):
        speed *= gain
        errors = max(0.0, errors - rng.uniform(0.0, 0.01))
        enabled = ",".join(order[: position + 1])
        run = synthetic_run(rng, name, speed=speed, error_rate=errors, optimize=enabled)
        steps.append((f"+{name}", run))
    return baseline, steps


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


def second_seed(seed: int) -> int:
    """Another seed for a second fixture in the same attempt (never equal to ``seed``)."""
    other = (seed * 7919 + 104_729) % (2**31 - 1) or 1
    return other if other != seed else other % (2**31 - 2) + 1
