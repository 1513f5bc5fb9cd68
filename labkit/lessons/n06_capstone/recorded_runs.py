"""Seeded, synthetic measurements the checks grade on: raw samples and recorded ``LoadResult``s.

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


def result_from_samples(
    per_endpoint: Mapping[str, Sequence[Sample]],
    *,
    duration: float,
    label: str,
    vus: int = 10,
    server: dict[str, Any] | None = None,
    rate: float | None = None,
    dropped: int = 0,
) -> LoadResult:
    """A ``LoadResult`` recorded from samples, exactly as the load generator records them.

    With ``rate`` it is an open-loop run offered that many requests per second (``dropped``:
    the scheduled sends it never made).
    """
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
        mode="closed" if rate is None else "open",
        duration=duration,
        warmup=1.0,
        endpoints=loads,
        vus=vus if rate is None else None,
        rate=rate,
        dropped=dropped,
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


def second_seed(seed: int) -> int:
    """Another seed for a second fixture in the same attempt (never equal to ``seed``)."""
    other = (seed * 7919 + 104_729) % (2**31 - 1) or 1
    return other if other != seed else other % (2**31 - 2) + 1
