"""Exercise 04.ratelimit_headers: the standard ``RateLimit-*`` headers from a bucket's state.

The IETF's RateLimit header fields (draft-ietf-httpapi-ratelimit-headers, the form most APIs
send: ``RateLimit-Limit``, ``RateLimit-Remaining``, ``RateLimit-Reset``) tell a client its quota,
what is left of it and how many seconds until it is whole again — so a well-behaved client
slows down *before* it is refused. On a ``429`` ``Retry-After`` says when to try again.

Graded on the attempt's seeded bucket states plus fixed edge cases: a full bucket (reset 0),
fractional tokens just under a whole one (remaining rounds down), a reset of 3.25 s (rounds up),
an empty bucket, and a refusal (``Retry-After`` only then).
"""

from __future__ import annotations

import math
import random
from typing import Any

from labkit.grading import Grader, exercise, reference_answer

State = tuple[int, float, float, float]  # capacity, tokens, refill per s, retry after s


@reference_answer
def ratelimit_headers(
    capacity: int, tokens: float, refill_per_s: float, retry_after_s: float
) -> dict[str, str]:
    """The headers for one response of a token-bucket limiter."""
    headers = {
        "RateLimit-Limit": str(capacity),
        "RateLimit-Remaining": str(max(0, math.floor(tokens))),  # whole requests left
        # seconds until the bucket is full again: rounded up, so "0" means full now
        "RateLimit-Reset": str(math.ceil(max(0.0, capacity - tokens) / refill_per_s)),
    }
    if retry_after_s > 0:
        headers["Retry-After"] = str(math.ceil(retry_after_s))
    return headers


def edge_states() -> list[tuple[str, State]]:
    return [
        ("a full bucket", (15, 15.0, 0.25, 0.0)),
        ("just under three tokens", (15, 2.96875, 0.25, 0.0)),
        ("a reset of 3.25 s", (10, 9.1875, 0.25, 0.0)),
        ("an empty bucket, refused", (30, 0.0, 0.5, 2.0)),
        ("a refusal with a fractional wait", (15, 0.4375, 0.25, 2.25)),
    ]


def seeded_states(seed: int) -> list[tuple[str, State]]:
    rng = random.Random(f"{seed}:ratelimit-headers")
    states = []
    for i in range(8):
        capacity = rng.choice((10, 15, 30, 60, 120))
        rate = rng.choice((0.25, 0.5, 1.0, 2.0))
        tokens = rng.randrange(0, capacity * 16) / 16  # sixteenths: exact in binary
        cost = rng.choice((1, 2, 5))
        retry = (cost - tokens) / rate if tokens < cost else 0.0
        states.append((f"seeded state {i + 1}", (capacity, tokens, rate, retry)))
    return states


@exercise(
    "04.ratelimit_headers",
    title="Standard RateLimit-* headers (and Retry-After on a refusal)",
    answers=("ratelimit_headers",),
    hint="Limit = capacity; Remaining = whole tokens left (math.floor); Reset = seconds until "
    "the bucket is full, math.ceil((capacity - tokens) / refill_per_s); Retry-After only when "
    "retry_after_s > 0, rounded up.",
    points=1,
    timeout=10.0,
)
def grade_ratelimit_headers(g: Grader, answer: Any) -> None:
    cases = [*edge_states(), *seeded_states(g.seed)]
    for name, state in cases:
        got = g.call(answer, *state)
        want = ratelimit_headers(*state)
        g.expect(isinstance(got, dict), f"{name}: expected a dict of headers, got {got!r}")
        got = {str(k): v for k, v in got.items()}
        capacity, tokens, rate, retry = state
        where = f"{name} (capacity {capacity}, {tokens:g} tokens, {rate:g}/s, retry {retry:g} s)"
        old_names = sorted(k for k in got if k.lower().startswith("x-ratelimit"))
        g.expect(
            not old_names,
            f"{where}: {', '.join(old_names)} are the old vendor headers; send the standard "
            "names RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset",
        )
        for header, value in want.items():
            g.expect(
                got.get(header) == value,
                f"{where}: {header} should be {value!r}, got {got.get(header)!r}",
                hint=_hint(header),
            )
        extra = sorted(set(got) - set(want))
        g.expect(
            not extra,
            f"{where}: unexpected header(s) {extra}"
            + (" — Retry-After belongs on a refusal only" if "Retry-After" in extra else ""),
        )
    g.measure("responses with the right headers", len(cases), target=f"all {len(cases)}", ok=True)


def _hint(header: str) -> str:
    return {
        "RateLimit-Limit": "The limit is the bucket's capacity, as a string.",
        "RateLimit-Remaining": "Whole requests left: round the tokens down (math.floor), never "
        "below 0.",
        "RateLimit-Reset": "Seconds (a delta, not a timestamp) until the bucket is full: "
        "(capacity - tokens) / refill_per_s, rounded up.",
        "Retry-After": "On a refusal, the wait rounded up: str(math.ceil(retry_after_s)).",
    }[header]
