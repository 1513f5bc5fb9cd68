"""Exercise 00.latency_budget: one request's server-side budget, read from its Server-Timing.

The lab API's header times each server phase itself: ``db`` and ``cache`` (I/O), ``ser``
(serialising the body), ``app`` (the handler's own Python, I/O and serialisation taken out) and
``total``. The budget's four server phases follow from them; what ``total`` holds beyond the
other four is the middleware. A phase the header leaves out took no measurable time (0), and
the middleware is never negative (each phase is rounded to 0.01 ms, so the sum can exceed the
total by a hair).

Graded on phase dicts generated from the attempt's seed (phases missing, totals a hair short of
their parts) and fixed edge cases, against the reference, to a millionth of a millisecond.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from labkit.grading import exercise, reference_answer

if TYPE_CHECKING:
    from labkit.grading import Grader

SERVER_PHASES: Final = ("I/O", "handler", "serialisation", "middleware")
EDGE_CASES: Final[tuple[dict[str, float], ...]] = (
    {"total": 3.0},  # nothing but a total: all of it is middleware
    {"db": 12.5, "total": 12.5},  # no cache, no ser, no app
    {"db": 10.0, "cache": 0.5, "ser": 0.25, "app": 4.0, "total": 14.74},  # parts exceed total
    {"cache": 0.3, "ser": 1.2, "app": 0.8, "total": 2.9},  # a cache hit: no db at all
)


@reference_answer
def server_budget_reference(phases: Mapping[str, float]) -> dict[str, float]:
    """``{"db": 10, "cache": 1, "ser": 0.5, "app": 3, "total": 15}`` →
    ``{"I/O": 11, "handler": 3, "serialisation": 0.5, "middleware": 0.5}``."""
    io = phases.get("db", 0.0) + phases.get("cache", 0.0)
    handler = phases.get("app", 0.0)
    serialisation = phases.get("ser", 0.0)
    middleware = max(0.0, phases["total"] - io - handler - serialisation)
    return {"I/O": io, "handler": handler, "serialisation": serialisation, "middleware": middleware}


def random_phases(rng: random.Random) -> dict[str, float]:
    """Phases as the lab API reports them (2 decimals), some left out, totals from the parts."""
    phases: dict[str, float] = {}
    for name, low, high, present in (
        ("db", 0.5, 250.0, 0.85),
        ("cache", 0.0, 3.0, 0.7),
        ("ser", 0.05, 6.0, 0.8),
        ("app", 0.1, 40.0, 0.85),
    ):
        if rng.random() < present:
            phases[name] = round(rng.uniform(low, high), 2)
    middleware = rng.choice((round(rng.uniform(0.01, 4.0), 2), -0.01, 0.0))
    phases["total"] = round(max(0.01, sum(phases.values()) + middleware), 2)
    return phases


def phases_for(seed: int, n: int = 12) -> list[dict[str, float]]:
    rng = random.Random(f"labkit/00.latency_budget/{seed}")
    cases = [dict(case) for case in EDGE_CASES] + [random_phases(rng) for _ in range(n)]
    rng.shuffle(cases)
    return cases


def _numbers(value: object) -> dict[str, float] | None:
    if not isinstance(value, Mapping):
        return None
    try:
        return {str(k): float(v) for k, v in value.items()}
    except (TypeError, ValueError):
        return None


@exercise(
    "00.latency_budget",
    title="A request's server budget from its Server-Timing phases",
    answers=("server_budget",),
    hint=(
        "I/O = db + cache, handler = app, serialisation = ser, middleware = total minus those "
        "four; a phase missing from the header counts as 0 (`phases.get(name, 0.0)`), and the "
        "middleware never goes below 0."
    ),
    points=1,
    timeout=10.0,
)
async def grade_latency_budget(g: Grader, server_budget: Any) -> None:
    cases = phases_for(g.seed)
    for phases in cases:
        expected = server_budget_reference(phases)
        got = await g.acall(server_budget, dict(phases))
        numbers = _numbers(got)
        g.expect(
            numbers is not None,
            f"server_budget({phases}) should return a dict of numbers, got {got!r:.80}",
            hint=f"Keys {', '.join(SERVER_PHASES)}; values in milliseconds.",
        )
        assert numbers is not None
        g.expect_equal(
            {k: round(v, 6) for k, v in numbers.items() if k in SERVER_PHASES},
            {k: round(v, 6) for k, v in expected.items()},
            what=f"server_budget({phases})",
            hint="handler is the header's `app` (not the total minus the rest); a missing phase "
            "counts as 0; the middleware is what total holds beyond the four, never negative.",
        )
    g.note(
        f"{len(cases)} requests budgeted ({len(EDGE_CASES)} edge cases, "
        f"{len(cases) - len(EDGE_CASES)} generated from seed {g.seed})."
    )
