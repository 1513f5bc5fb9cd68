"""Exercise 04.guard: tiered limits keyed by user or address, ``429`` with ``Retry-After``.

Each attempt builds its traffic from the attempt's seed — which users, which tiers, which
addresses, how far each burst goes past its limit — plus fixed cases (colleagues behind one
office address, an anonymous export burst, a ``Retry-After`` of 3.25 s that must read "4").
Every script refuses on every seed. Then a *second* guard, from a new ``make_guard`` call with
its own clock, must start with full buckets: limiters kept in a global fail there.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from labkit.clock import ManualClock
from labkit.grading import Grader, exercise, reference_answer
from labkit.lessons.n04_concurrency.token_bucket import TokenBucket


@dataclass(frozen=True)
class ApiRequest:
    """What a rate-limit guard sees of a request."""

    path: str
    client_ip: str
    user_id: int | None = None
    tier: str = "free"


# requests per minute (also the burst size) per tier; anonymous callers are "free". The
# per-second rates (0.25, 0.5, 2) are exact in binary, so every implementation agrees exactly.
TIER_PER_MINUTE: dict[str, int] = {"free": 15, "basic": 30, "pro": 120}
# expensive endpoints take more tokens per request
ENDPOINT_COST: dict[str, int] = {"/export": 5, "/search": 2}

GuardResponse = tuple[int, dict[str, str]]
GuardStep = tuple[float, ApiRequest]


@reference_answer
def make_guard(
    clock: Callable[[], float] = time.monotonic,
) -> Callable[[ApiRequest], GuardResponse]:
    """A guard for every request: ``(200, {})`` or ``(429, {"Retry-After": "<whole seconds>"})``.

    Limiters are made once, here, and shared by every request the guard sees.
    """
    limiters = {
        tier: TokenBucket(per_minute, per_minute / 60, clock)
        for tier, per_minute in TIER_PER_MINUTE.items()
    }

    def guard(request: ApiRequest) -> GuardResponse:
        if request.user_id is not None:
            key: str = f"user:{request.user_id}"
            tier = request.tier
        else:
            key, tier = f"ip:{request.client_ip}", "free"
        cost = ENDPOINT_COST.get(request.path, 1)
        allowed, retry_after = limiters[tier].check(key, cost)
        if allowed:
            return 200, {}
        return 429, {"Retry-After": str(math.ceil(retry_after))}

    return guard


def guard_script(seed: int) -> list[GuardStep]:
    """Seeded users, tiers and addresses; every burst goes past its limit."""
    rng = random.Random(f"{seed}:guard")
    office = f"203.0.113.{rng.randrange(2, 250)}"
    home = f"198.51.100.{rng.randrange(2, 250)}"
    users = rng.sample(range(1, 10_000), 5)
    tiers = ["free", "basic", "pro", *rng.choices(("free", "basic", "pro"), k=2)]
    rng.shuffle(tiers)
    steps: list[GuardStep] = []
    t = 0.0
    # two colleagues behind one office address: each burst past their own tier's limit
    for user, tier in zip(users[:2], tiers[:2], strict=True):
        over = rng.randint(1, 4)
        steps += [(t, ApiRequest("/posts", office, user, tier))] * (TIER_PER_MINUTE[tier] + over)
    # an anonymous client from the same office: its own free bucket, by address
    steps += [(t, ApiRequest("/posts", office))] * rng.randint(2, 5)
    # an anonymous export burst: 5 tokens each, so the free tier's 15 give three
    t += 1.0
    steps += [(t, ApiRequest("/export", home))] * rng.randint(4, 6)
    # 3.25 s to wait after 0.75 s: Retry-After "4" (rounded up), not 3
    t += 0.75
    steps += [(t, ApiRequest("/posts", home))] * 2
    # logged-in users of every tier hitting the costly endpoints
    for user, tier in zip(users[2:], tiers[2:], strict=True):
        t += rng.choice((0.0, 0.25, 0.5))
        path = rng.choice(tuple(ENDPOINT_COST))
        burst = TIER_PER_MINUTE[tier] // ENDPOINT_COST[path] + rng.randint(1, 3)
        steps += [(t, ApiRequest(path, rng.choice((office, home)), user, tier))] * burst
    # then mixed traffic over the next minute
    paths = ["/posts", "/posts", "/posts", *ENDPOINT_COST]
    for _ in range(40):
        t += rng.choice((0.0, 0.0, 0.25, 1.0, 2.0))
        who = rng.randrange(len(users) + 1)
        if who == len(users):
            request = ApiRequest(rng.choice(paths), rng.choice((office, home)))
        else:
            request = ApiRequest(rng.choice(paths), office, users[who], tiers[who])
        steps.append((t, request))
    return steps


def fresh_guard_script(seed: int) -> list[GuardStep]:
    """For a second guard made afterwards: its first requests must all be allowed."""
    first = guard_script(seed)[0][1]
    return [(0.0, first)] * TIER_PER_MINUTE[first.tier] + [(0.0, first)]


def expected_responses(steps: list[GuardStep]) -> list[GuardResponse]:
    clock = ManualClock()
    reference = make_guard(clock)
    responses = []
    for at, request in steps:
        clock.now = at
        responses.append(reference(request))
    return responses


@exercise(
    "04.guard",
    title="Tiered rate limits with 429 and Retry-After",
    answers=("make_guard",),
    hint="Make the limiters inside make_guard (once), not inside guard (per request) nor at "
    "module level. Key by user when logged in, else by address; cost from ENDPOINT_COST; "
    "Retry-After in whole seconds.",
    points=3,
    timeout=10.0,
)
async def grade_guard(g: Grader, make_guard_answer: Any) -> None:
    for which, steps in (
        ("first", guard_script(g.seed)),
        ("second", fresh_guard_script(g.seed)),
    ):
        clock = ManualClock()
        guard = await g.acall(make_guard_answer, clock)
        expected = expected_responses(steps)
        learner_refused = 0
        for i, ((at, request), (want_status, want_headers)) in enumerate(
            zip(steps, expected, strict=True)
        ):
            clock.now = at
            got = await g.acall(guard, request)
            g.expect(
                isinstance(got, tuple) and len(got) == 2 and isinstance(got[1], dict),
                f"guard() should return (status, headers), got {got!r}",
            )
            status, headers = got
            learner_refused += status == 429
            who = f"user {request.user_id}" if request.user_id else request.client_ip
            where = f"{which} guard, request {i + 1} (t={at:g} s, {request.path} by {who}, "
            where += f"{request.tier if request.user_id else 'anonymous'})"
            if which == "second" and status != want_status:
                g.expect(
                    False,
                    f"{where}: expected {want_status}, got {status} — a guard from a new "
                    "make_guard call refused a request its first ever",
                    hint="State leaked from the previous guard: make the limiters inside "
                    "make_guard, with the clock it is given, not in a global or on a class.",
                )
            g.expect(
                status == want_status,
                f"{where}: expected {want_status}, got {status}",
                hint=_guard_hint(request, want_status, learner_refused),
            )
            if want_status == 429:
                value = headers.get("Retry-After")
                g.expect(
                    isinstance(value, str) and value.isdigit(),
                    f"{where}: a 429 needs a Retry-After header of whole seconds "
                    f"(e.g. '{want_headers['Retry-After']}'), got {value!r}",
                    hint="Round up: str(math.ceil(retry_after)) — a client that retries early "
                    "is refused again.",
                )
                g.expect(
                    value == want_headers["Retry-After"],
                    f"{where}: Retry-After should be {want_headers['Retry-After']!r}, "
                    f"got {value!r}",
                    hint="Round up (math.ceil), not to the nearest second nor down: 3.25 s is '4'.",
                )
        if which == "first":
            refused = sum(1 for status, _ in expected if status == 429)
            g.measure(
                "requests refused with 429",
                refused,
                target=f"{refused} of {len(steps)} (as the reference)",
                ok=True,
            )
    g.note("a second guard, made afterwards with its own clock, started with full buckets")


def _guard_hint(request: ApiRequest, want_status: int, refused_so_far: int) -> str:
    if want_status == 429 and refused_so_far == 0:
        return (
            "Nothing has been refused so far: is a new limiter created for every request? "
            "Make the limiters once, in make_guard, and let guard use them."
        )
    if request.user_id is not None and want_status == 200:
        return "Users behind one address must not share a limit: key logged-in users by user id."
    if request.path in ENDPOINT_COST:
        return f"{request.path} costs {ENDPOINT_COST[request.path]} tokens, not 1."
    if request.user_id is not None:
        return f"A logged-in user gets the limit of their tier ({request.tier})."
    return (
        "Anonymous callers get the free tier's limit, keyed by their address; read the time "
        "from the clock you are given."
    )
