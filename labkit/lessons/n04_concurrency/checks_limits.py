"""Checks 04.token_bucket and 04.guard: rate-limit verdicts on a scripted sequence, fake clock.

Every time in the scripts is a whole number of seconds and every rate a power of two per second,
so token arithmetic is exact in binary floating point: any correct implementation (a token
bucket, GCRA, ...) reaches exactly the reference's verdicts.
"""

from __future__ import annotations

import math
import random
from typing import Any

from labkit.grading import Grader, exercise
from labkit.lessons.n04_concurrency.reference import (
    ENDPOINT_COST,
    ApiRequest,
    FakeClock,
    RateLimiter,
    make_guard,
)

BucketStep = tuple[float, str, int]  # (time, key, cost)


def bucket_script(seed: int) -> list[BucketStep]:
    """A burst, a refill, an idle spell (the bucket stays capped), costs, then seeded traffic."""
    steps: list[BucketStep] = [(0.0, "alice", 1)] * 6 + [(0.0, "bob", 1)]
    steps += [(1.0, "alice", 1)] * 3 + [(2.0, "alice", 3), (4.0, "alice", 3)]
    steps += [(30.0, "alice", 1)] * 6 + [(30.0, "bob", 2)] * 3
    rng = random.Random(seed)
    t = 31.0
    for _ in range(40):
        t += rng.choice((0.0, 0.0, 0.5, 1.0, 2.0))
        steps.append((t, rng.choice(("alice", "bob", "carol")), rng.choice((1, 1, 1, 2))))
    return steps


def run_bucket(limiter: Any, clock: FakeClock, steps: list[BucketStep]) -> list[tuple[bool, float]]:
    verdicts: list[tuple[bool, float]] = []
    for at, key, cost in steps:
        clock.now = at
        allowed, retry_after = limiter.check(key, cost)
        verdicts.append((bool(allowed), float(retry_after)))
    return verdicts


@exercise(
    "04.token_bucket",
    title="A token-bucket rate limiter per key",
    answers=("TokenBucketLimiter",),
    hint="Per key keep (tokens, last time). On each check: add (now - last) * refill_per_s, "
    "cap at capacity, then take `cost` tokens if there are enough.",
    points=2,
    timeout=10.0,
)
def grade_token_bucket(g: Grader, TokenBucketLimiter: Any) -> None:
    steps = bucket_script(g.seed)
    clock = FakeClock()
    limiter = g.call(TokenBucketLimiter, 4, 2.0, clock)
    got = [g.call(limiter.check, key, cost) for clock.now, key, cost in steps]
    reference_clock = FakeClock()
    expected = run_bucket(RateLimiter(4, 2.0, reference_clock), reference_clock, steps)
    for i, ((at, key, cost), verdict, want) in enumerate(zip(steps, got, expected, strict=True)):
        if not (isinstance(verdict, tuple) and len(verdict) == 2):
            g.expect(False, f"check() should return (allowed, retry_after_s), got {verdict!r}")
        allowed, retry_after = bool(verdict[0]), float(verdict[1])
        g.expect(
            allowed == want[0],
            f"request {i + 1} (t={at:g} s, key={key!r}, cost={cost}): expected "
            f"{'allowed' if want[0] else 'refused'}, got {'allowed' if allowed else 'refused'}",
            hint=_bucket_hint(i, steps),
        )
        g.expect(
            math.isclose(retry_after, want[1], abs_tol=1e-6),
            f"request {i + 1} (t={at:g} s, key={key!r}): retry_after should be {want[1]:g} s, "
            f"got {retry_after:g}",
            hint="retry_after = (cost - tokens) / refill_per_s when refused, 0.0 when allowed.",
        )
    refused = sum(1 for allowed, _ in expected if not allowed)
    g.measure("verdicts matching the reference", len(steps), target=f"all {len(steps)}", ok=True)
    g.note(f"{refused} of {len(steps)} scripted requests were refused")


def _bucket_hint(index: int, steps: list[BucketStep]) -> str:
    at = steps[index][0]
    if at == 30.0:
        return "After a long idle spell the bucket holds `capacity` tokens, not more: cap it."
    if steps[index][1] == "bob" and at == 0.0:
        return "Each key has its own bucket."
    return "Refill by elapsed time × refill_per_s; allow when tokens >= cost."


GuardStep = tuple[float, ApiRequest]


def guard_script(seed: int) -> list[GuardStep]:
    office = "203.0.113.7"
    steps: list[GuardStep] = []
    # two users behind one office address: limited separately, by user
    steps += [(0.0, ApiRequest("/posts", office, user_id=1, tier="free"))] * 10
    steps += [(0.0, ApiRequest("/posts", office, user_id=2, tier="free"))] * 10
    steps += [(0.0, ApiRequest("/posts", office, user_id=6, tier="pro"))] * 125
    # an anonymous client: the free tier, keyed by address; expensive endpoints cost more
    steps += [(1.0, ApiRequest("/export", "198.51.100.4"))] * 4
    steps += [(1.0, ApiRequest("/posts", "198.51.100.4"))] * 2
    steps += [(8.0, ApiRequest("/search", "198.51.100.4"))] * 2
    steps += [(8.0, ApiRequest("/posts", "198.51.100.9"))] * 17
    steps += [(9.0, ApiRequest("/export", "198.51.100.9", user_id=3, tier="basic"))] * 8
    rng = random.Random(seed)
    t = 10.0
    paths = ["/posts", "/posts", "/posts", *ENDPOINT_COST]
    for _ in range(50):
        t += rng.choice((0.0, 0.0, 1.0, 2.0))
        user = rng.choice((None, 4, 5))
        tier = {None: "free", 4: "basic", 5: "free"}[user]
        steps.append(
            (t, ApiRequest(rng.choice(paths), rng.choice((office, "192.0.2.1")), user, tier))
        )
    return steps


@exercise(
    "04.guard",
    title="Tiered rate limits with 429 and Retry-After",
    answers=("make_guard",),
    hint="Make the limiters inside make_guard (once), not inside guard (per request). Key by "
    "user when logged in, else by address; cost from ENDPOINT_COST; Retry-After in whole seconds.",
    points=3,
    timeout=10.0,
)
def grade_guard(g: Grader, make_guard_answer: Any) -> None:
    steps = guard_script(g.seed)
    clock = FakeClock()
    guard = g.call(make_guard_answer, clock)
    reference_clock = FakeClock()
    reference = make_guard(reference_clock)
    refused = learner_refused = 0
    for i, (at, request) in enumerate(steps):
        clock.now = reference_clock.now = at
        want_status, want_headers = reference(request)
        got = g.call(guard, request)
        g.expect(
            isinstance(got, tuple) and len(got) == 2 and isinstance(got[1], dict),
            f"guard() should return (status, headers), got {got!r}",
        )
        status, headers = got
        learner_refused += status == 429
        who = f"user {request.user_id}" if request.user_id else request.client_ip
        g.expect(
            status == want_status,
            f"request {i + 1} (t={at:g} s, {request.path} by {who}, {request.tier}): "
            f"expected {want_status}, got {status}",
            hint=_guard_hint(request, want_status, learner_refused),
        )
        if want_status == 429:
            refused += 1
            value = headers.get("Retry-After")
            g.expect(
                isinstance(value, str) and value.isdigit(),
                f"request {i + 1}: a 429 needs a Retry-After header of whole seconds "
                f"(e.g. '{want_headers['Retry-After']}'), got {value!r}",
                hint="Round up: str(math.ceil(retry_after)) — a client that retries early is "
                "refused again.",
            )
            g.expect(
                value == want_headers["Retry-After"],
                f"request {i + 1}: Retry-After should be {want_headers['Retry-After']!r}, "
                f"got {value!r}",
            )
    g.measure("requests refused with 429", refused, target=f"{refused} (as the reference)", ok=True)


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
    return "Anonymous callers get the free tier's limit, keyed by their address."
