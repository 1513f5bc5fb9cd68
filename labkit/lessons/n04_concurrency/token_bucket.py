"""Exercise 04.token_bucket: verdicts of a per-key token bucket on scripted requests, fake clock.

Every time in the scripts is a multiple of 0.25 s and every rate a power of two per second, so
token arithmetic is exact in binary floating point: any correct implementation (a token bucket,
GCRA, ...) reaches exactly the reference's verdicts.

Each attempt drives several limiters, each with a fresh clock: fixed edge cases (a burst of
exactly the capacity, a fractional refill, a clock that jumps past several refills, a refusal
that must take nothing) and two seeded scripts whose capacity, rate, keys and timing come from
the attempt's seed. Every seeded script is built to hit the limit (bursts beyond the capacity)
and to come back after a refill (a request exactly ``retry_after`` later), whatever the seed.
The same key names recur in every limiter, so buckets kept on the class or in a global fail.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from labkit.clock import ManualClock
from labkit.grading import Grader, exercise, reference_answer


@reference_answer
class TokenBucket:
    """A token bucket per key: ``capacity`` tokens, refilled at ``refill_per_s``.

    ``check(key, cost)`` returns ``(allowed, retry_after_s)``; ``retry_after_s`` is 0.0 when
    allowed, else how long until ``cost`` tokens are back.
    """

    def __init__(
        self,
        capacity: float,
        refill_per_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.capacity = float(capacity)
        self.refill_per_s = float(refill_per_s)
        self.clock = clock
        self._buckets: dict[Hashable, tuple[float, float]] = {}

    def check(self, key: Hashable, cost: float = 1) -> tuple[bool, float]:
        now = self.clock()
        tokens, last = self._buckets.get(key, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - last) * self.refill_per_s)
        if tokens >= cost:
            self._buckets[key] = (tokens - cost, now)
            return True, 0.0
        self._buckets[key] = (tokens, now)
        return False, (cost - tokens) / self.refill_per_s

    def wait_for(self, key: Hashable, cost: float, now: float) -> float:
        """Seconds from ``now`` until ``key`` has ``cost`` tokens (used to build scripts)."""
        tokens, last = self._buckets.get(key, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - last) * self.refill_per_s)
        return max(0.0, (cost - tokens) / self.refill_per_s)


BucketStep = tuple[float, str, int]  # (time, key, cost)
Verdict = tuple[bool, float]


@dataclass(frozen=True)
class BucketScript:
    """One limiter's configuration and the requests sent to it."""

    name: str
    capacity: int
    refill_per_s: float
    steps: tuple[BucketStep, ...]
    hint: str


def run_bucket(limiter: Any, clock: ManualClock, steps: tuple[BucketStep, ...]) -> list[Verdict]:
    verdicts: list[Verdict] = []
    for at, key, cost in steps:
        clock.now = at
        allowed, retry_after = limiter.check(key, cost)
        verdicts.append((bool(allowed), float(retry_after)))
    return verdicts


def reference_verdicts(script: BucketScript, *, frozen: bool = False) -> list[Verdict]:
    """The reference's verdicts (``frozen``: as a limiter that never reads the clock sees it)."""
    clock = ManualClock()
    limiter = TokenBucket(script.capacity, script.refill_per_s, (lambda: 0.0) if frozen else clock)
    return run_bucket(limiter, clock, script.steps)


def edge_case_scripts() -> list[BucketScript]:
    alice, bob = "alice", "bob"
    return [
        BucketScript(
            "a burst of exactly the capacity",
            4,
            2.0,
            ((0.0, alice, 1),) * 4 + ((0.0, alice, 1), (0.0, bob, 1), (0.5, alice, 1)),
            "A full bucket allows `capacity` requests at once, the next one waits; each key "
            "has its own bucket.",
        ),
        BucketScript(
            "a fractional refill",
            4,
            2.0,
            ((0.0, alice, 4), (0.25, alice, 1), (0.75, alice, 1), (1.0, alice, 1), (1.0, alice, 1)),
            "Keep fractional tokens: 0.25 s at 2 tokens/s is half a token, and it counts later "
            "(no int() on the stored token count).",
        ),
        BucketScript(
            "a clock that jumps past several refills",
            5,
            1.0,
            ((0.0, alice, 5), *(((3.5, alice, 1),) * 4), *(((100.0, alice, 1),) * 6)),
            "Refill by elapsed time × refill_per_s (3.5 s → 3.5 tokens), then cap at capacity: "
            "after a long idle spell the bucket holds `capacity`, not more.",
        ),
        BucketScript(
            "a refusal that takes nothing",
            4,
            1.0,
            ((0.0, alice, 3), (0.0, alice, 2), (0.0, alice, 1), (0.0, alice, 1), (0.5, alice, 2)),
            "A refused request takes no tokens: 1 token left refuses a cost of 2 and still "
            "allows a cost of 1.",
        ),
    ]


def seeded_script(seed: int, index: int) -> BucketScript:
    """Bursts beyond the capacity for several keys, partial refills, and a retry exactly
    ``retry_after`` later: refusals and refills on every seed."""
    rng = random.Random(f"{seed}:bucket:{index}")
    capacity = rng.choice((3, 4, 5, 6, 8))
    rate = rng.choice((0.5, 1.0, 2.0, 4.0))
    keys = ["alice", *(f"client-{n}" for n in rng.sample(range(100, 1000), 2))]
    model = TokenBucket(capacity, rate, lambda: t)
    steps: list[BucketStep] = []
    t = 0.0

    def send(key: str, cost: int) -> Verdict:
        steps.append((t, key, cost))
        return model.check(key, cost)

    for _ in range(5):
        key = rng.choice(keys)
        for _ in range(capacity + rng.randint(1, 3)):  # more than a full bucket holds
            send(key, rng.choice((1, 1, 1, 2)))
        send(rng.choice([k for k in keys if k != key]), 1)  # another key, same instant
        t += model.wait_for(key, 1, t)  # exactly when one token is back: allowed again
        send(key, 1)
        t += rng.choice((0.25, 0.5, 0.75, 1.25, 2.0, 3.0))
        for _ in range(rng.randint(1, 3)):
            send(key, rng.choice((1, 2)))
        t += rng.choice((0.25, 0.5, 1.0, 4.0, 30.0))
    return BucketScript(
        f"seeded script {index + 1} (capacity {capacity}, {rate:g} tokens/s)",
        capacity,
        rate,
        tuple(steps),
        "Refill by elapsed time × refill_per_s, cap at capacity, allow when tokens >= cost.",
    )


def bucket_scripts(seed: int) -> list[BucketScript]:
    return [*edge_case_scripts(), seeded_script(seed, 0), seeded_script(seed, 1)]


@exercise(
    "04.token_bucket",
    title="A token-bucket rate limiter per key",
    answers=("TokenBucketLimiter",),
    hint="Per key keep (tokens, last time). On each check: add (now - last) * refill_per_s, "
    "cap at capacity, then take `cost` tokens if there are enough.",
    points=2,
    timeout=10.0,
)
async def grade_token_bucket(g: Grader, TokenBucketLimiter: Any) -> None:
    scripts = bucket_scripts(g.seed)
    total = refused = 0
    for script in scripts:
        clock = ManualClock()  # a fresh clock and a fresh limiter for every script
        limiter = await g.acall(TokenBucketLimiter, script.capacity, script.refill_per_s, clock)
        got: list[Verdict] = []
        for at, key, cost in script.steps:
            clock.now = at
            verdict = await g.acall(limiter.check, key, cost)
            g.expect(
                isinstance(verdict, tuple) and len(verdict) == 2,
                f"check() should return (allowed, retry_after_s), got {verdict!r}",
            )
            got.append((bool(verdict[0]), float(verdict[1])))
        expected = reference_verdicts(script)
        ignores_clock = got == reference_verdicts(script, frozen=True) and got != expected
        for i, ((at, key, cost), verdict, want) in enumerate(
            zip(script.steps, got, expected, strict=True)
        ):
            where = f"{script.name}, request {i + 1} (t={at:g} s, key={key!r}, cost={cost})"
            hint = (
                "Your limiter answers as if time never moved: read the time from the `clock` "
                "you are given (call clock()), not from time.monotonic()."
                if ignores_clock
                else script.hint
            )
            g.expect(
                verdict[0] == want[0],
                f"{where}: expected {'allowed' if want[0] else 'refused'}, "
                f"got {'allowed' if verdict[0] else 'refused'}",
                hint=hint,
            )
            g.expect(
                math.isclose(verdict[1], want[1], abs_tol=1e-6),
                f"{where}: retry_after should be {want[1]:g} s, got {verdict[1]:g}",
                hint="retry_after = (cost - tokens) / refill_per_s when refused (with the "
                "fractional tokens), 0.0 when allowed.",
            )
        total += len(expected)
        refused += sum(1 for allowed, _ in expected if not allowed)
    g.measure(
        "verdicts matching the reference",
        total,
        target=f"all {total} ({len(scripts)} limiters, {refused} refusals)",
        ok=True,
    )
