"""06.breaking_point: the rate at which the server breaks, read from open-loop steps.

The learner writes ``breaking_rate(steps, p99_ms, max_error_rate)``: the lowest offered rate
at which p99, the error rate or the achieved rate crosses its bound, or ``None`` when no step
does. Graded by counting the step lists read right, on recorded, seeded open-loop runs whose
knee moves from seed to seed and whose cause differs (p99, errors, sends the server never
kept up with), plus fixed edge cases; the steps come in a shuffled order.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from labkit.grading import Grader, exercise, reference_answer
from labkit.lessons.n06_capstone.recorded_runs import ENDPOINTS, Sample, result_from_samples
from labkit.load.breaking import KEEPING_UP, crossed
from labkit.load.result import LoadResult

# The library's own rule is labkit's answer too: an answer that delegates to it is told so.
reference_answer(crossed)

SECONDS: Final = 2.0  # measured seconds per recorded step
FAST_ERRORS: Final = ("503", "502", "429")  # a server shedding load answers fast, with errors


@dataclass(frozen=True)
class StepPlan:
    """One open-loop step to record: what was offered and how the server coped."""

    rate: float  # offered, requests per second
    share: float  # achieved / offered
    tail_ms: float  # the slowest 2% lie between this and 1.25× it: p99 lands there
    errors: float  # share of the completed requests that failed (fast 4xx/5xx)


@dataclass(frozen=True)
class BreakingCase:
    """A recorded breaking-point run: its steps (in the order handed over) and its bounds."""

    name: str
    steps: tuple[LoadResult, ...]
    p99_ms: float
    max_error_rate: float


def recorded_step(rng: random.Random, plan: StepPlan, median_ms: float) -> LoadResult:
    """An open-loop step recorded as the load generator records one."""
    offered = round(plan.rate * SECONDS)
    count = max(1, round(offered * plan.share))
    tail = count // 100 + 2  # more than 1% of the requests: p99 falls among them
    latencies = [plan.tail_ms * rng.uniform(1.0, 1.25) for _ in range(tail)]
    latencies += [
        min(median_ms * rng.lognormvariate(0.0, 0.35), 0.8 * plan.tail_ms)
        for _ in range(count - tail)
    ]
    outcomes = ["200"] * count
    for index in rng.sample(range(tail, count), min(count - tail, round(count * plan.errors))):
        outcomes[index] = rng.choice(FAST_ERRORS)
    samples: dict[str, list[Sample]] = {endpoint: [] for endpoint in ENDPOINTS}
    for index, sample in enumerate(zip(latencies, outcomes, strict=True)):
        samples[ENDPOINTS[index % len(ENDPOINTS)]].append((round(sample[0], 3), sample[1]))
    return result_from_samples(
        samples,
        duration=SECONDS,
        label=f"{plan.rate:g} req/s",
        rate=plan.rate,
        dropped=offered - count,
    )


def _rates(start: float, factor: float, steps: int) -> list[float]:
    rates = [start]
    while len(rates) < steps:
        rates.append(round(rates[-1] * factor, 1))  # as labkit.load.breaking_point steps
    return rates


def _calm(rng: random.Random, rates: Sequence[float], bound_ms: float) -> list[StepPlan]:
    """Steps inside every bound: p99 rising with the load (it rises at once, below the
    bound), a few errors, the offered rate achieved or nearly."""
    tail = bound_ms * rng.uniform(0.08, 0.15)
    plans = []
    for rate in rates:
        plans.append(
            StepPlan(rate, rng.uniform(0.93, 0.995), tail, rng.choice((0.0, 0.001, 0.003)))
        )
        tail = min(tail * rng.uniform(1.3, 1.7), bound_ms * 0.75)
    return plans


def seeded_case(rng: random.Random, cause: str, bound_ms: float = 500.0) -> BreakingCase:
    """A run that breaks by ``cause`` ("p99", "errors" or "achieved") at a seeded step."""
    count = rng.randint(6, 9)
    knee = rng.randint(2, count - 2)  # not the first steps, and steps recorded beyond it
    rates = _rates(rng.choice((20.0, 25.0, 30.0, 40.0, 50.0)), rng.choice((1.4, 1.5, 1.6)), count)
    plans = _calm(rng, rates[:knee], bound_ms)
    last = plans[-1]
    achieved = last.rate * last.share
    for position, rate in enumerate(rates[knee:]):
        if cause == "p99":  # the queue grows: p99 climbs, throughput peaks past the knee, falls
            tail = bound_ms * rng.uniform(1.4, 3.0) * 2.5**position
            if position == 0:
                share = rng.uniform(0.93, 0.99)  # still keeping up: only p99 says it broke
            elif position == 1:
                share = 0.8  # more served than at the knee (the rate is 1.4x or more)
            else:
                share = achieved * rng.uniform(0.85, 0.95) / rate
            plan = StepPlan(rate, share, tail, rng.choice((0.0, 0.002, 0.005)))
        elif cause == "errors":  # it sheds load: fast errors, p99 and throughput fine
            errors = min(0.6, rng.uniform(0.03, 0.08) * 2**position)
            plan = StepPlan(rate, rng.uniform(0.93, 0.99), last.tail_ms, errors)
        else:  # it falls behind: sends missed, the requests it did answer still quick
            share = rng.uniform(0.6, 0.85) if position == 0 else achieved * 1.05 / rate
            plan = StepPlan(rate, share, min(last.tail_ms * 1.2, bound_ms * 0.75), 0.0)
        plans.append(plan)
        achieved = plan.rate * plan.share
    median = rng.uniform(8.0, 30.0)
    steps = [recorded_step(rng, plan, median * (1 + i / 10)) for i, plan in enumerate(plans)]
    names = {
        "p99": "p99 blows up",
        "errors": "errors blow up while p99 stays low",
        "achieved": "the achieved rate falls behind the offered rate",
    }
    return BreakingCase(names[cause], tuple(steps), bound_ms, 0.01)


def fixed_cases(rng: random.Random) -> list[BreakingCase]:
    """Edge cases: no break within range (one step exactly at the error bound), a break at
    the first step, and bounds other than the usual 500 ms and 1%."""
    rates = [50.0, 100.0, 150.0, 200.0, 250.0, 300.0]
    calm = _calm(rng, rates, 500.0)
    at_bound = rng.randrange(1, len(rates) - 1)
    calm[at_bound] = StepPlan(rates[at_bound], 1.0, calm[at_bound].tail_ms, 0.01)  # 1.00%
    slow = [StepPlan(rate, 0.95, 900.0 * (1.6**i), 0.004) for i, rate in enumerate(rates)]
    tight = _calm(rng, [40.0, 60.0, 90.0, 135.0, 202.5, 303.8, 455.7], 200.0)
    tight[2] = StepPlan(90.0, 0.97, tight[2].tail_ms, 0.015)  # past 1%, within this run's 2%
    tight[4] = StepPlan(202.5, 0.96, 200.0 * rng.uniform(1.4, 1.9), 0.004)
    tight[5] = StepPlan(303.8, 0.95, 200.0 * rng.uniform(2.0, 2.3), 0.006)
    tight[6] = StepPlan(455.7, 0.8, 200.0 * 2.5, 0.01)
    return [
        BreakingCase(
            "never breaks within these rates (one step at exactly 1% errors)",
            tuple(recorded_step(rng, plan, 12.0) for plan in calm),
            500.0,
            0.01,
        ),
        BreakingCase(
            "too slow from the first step",
            tuple(recorded_step(rng, plan, 400.0) for plan in slow),
            500.0,
            0.01,
        ),
        BreakingCase(
            "bounds stricter on p99 and looser on errors than 500 ms and 1%",
            tuple(recorded_step(rng, plan, 10.0) for plan in tight),
            200.0,
            0.02,
        ),
    ]


def shuffled(rng: random.Random, case: BreakingCase) -> BreakingCase:
    """The steps in a seeded order in which the first step past a bound is not the knee, so
    an answer that trusts the order it is handed reads the wrong step."""
    steps = list(case.steps)
    rng.shuffle(steps)
    knee = breaking_rate_reference(steps, case.p99_ms, case.max_error_rate)
    past = [s for s in steps if crossed(s, case.p99_ms, case.max_error_rate) is not None]
    if knee is not None and len(past) > 1 and past[0].rate == knee:
        steps.remove(past[0])
        steps.append(past[0])
    return BreakingCase(case.name, tuple(steps), case.p99_ms, case.max_error_rate)


def breaking_cases(seed: int) -> list[BreakingCase]:
    """This seed's recorded runs, one per cause, and the fixed edge cases, in a seeded order."""
    rng = random.Random(seed)
    cases = [seeded_case(rng, cause) for cause in ("p99", "errors", "achieved")]
    cases += fixed_cases(rng)
    rng.shuffle(cases)
    return [shuffled(rng, case) for case in cases]


@reference_answer
def breaking_rate_reference(
    steps: Sequence[LoadResult], p99_ms: float, max_error_rate: float
) -> float | None:
    """The lowest offered rate at which a bound is crossed: p99 above ``p99_ms``, the error
    rate above ``max_error_rate``, or less than 90% of the offered rate achieved."""
    for step in sorted(steps, key=lambda s: s.rate or 0.0):
        if crossed(step, p99_ms, max_error_rate) is not None:
            return step.rate
    return None


def _same_rate(got: Any, want: float | None) -> bool:
    if want is None or got is None:
        return got is None and want is None
    if isinstance(got, bool) or not isinstance(got, (int, float)):
        return False
    return math.isclose(float(got), want, rel_tol=1e-9)


def _what_it_was(got: Any, case: BreakingCase, want: float | None) -> str:
    """What the rate the answer returned is, when it is a recognisable mistake."""
    ordered = sorted(case.steps, key=lambda s: s.rate or 0.0)
    rates = [s.rate for s in ordered]
    if want is not None and rates.index(want) > 0 and _same_rate(got, rates[rates.index(want) - 1]):
        return " — that is the last rate it sustained; return the first rate past a bound"
    if _same_rate(got, max(ordered, key=lambda s: s.rps).rate):
        return (
            " — that is the step with the most throughput; a server often serves the most "
            "just past its knee, with its queue already growing"
        )
    if _same_rate(got, rates[-1]):
        return " — that is the last step; these steps go on past the breaking point"
    return ""


def _why(case: BreakingCase, rate: float) -> str:
    step = next(s for s in case.steps if s.rate == rate)
    return crossed(step, case.p99_ms, case.max_error_rate) or "within the bounds"


@exercise(
    "06.breaking_point",
    title="The breaking point, from open-loop steps",
    answers=("breaking_rate",),
    hint="Sort the steps by offered rate (step.rate); return the first whose p99 is above "
    "p99_ms, whose error rate is above max_error_rate, or whose achieved rate (step.rps) is "
    "below 90% of the offered one; None when no step crosses a bound.",
    points=2,
    timeout=15.0,
)
async def grade_breaking_point(g: Grader, breaking_rate: Any) -> None:
    cases = breaking_cases(g.seed)
    right = 0
    for index, case in enumerate(cases, start=1):
        got = g.call(breaking_rate, list(case.steps), case.p99_ms, case.max_error_rate)
        want = breaking_rate_reference(case.steps, case.p99_ms, case.max_error_rate)
        if not _same_rate(got, want):
            truth = (
                f"it breaks at {want:g} req/s ({_why(case, want)})"
                if want is not None
                else "no step crosses a bound, so the answer is None"
            )
            g.expect(
                False,
                f"recorded run {index} of {len(cases)} of this exercise ({case.name}; bounds "
                f"p99 {case.p99_ms:g} ms, errors {case.max_error_rate:.0%}): you returned "
                f"{got!r}; {truth}{_what_it_was(got, case, want)}",
                hint="Every bound counts: p99 above the bound, errors above theirs (exactly at "
                f"the bound is fine), or under {KEEPING_UP:.0%} of the offered rate achieved — "
                "and the steps may come in any order.",
            )
        right += 1
    g.measure(
        "recorded breaking-point runs of this exercise read right",
        f"{right} of {len(cases)}",
        target=f"all {len(cases)}",
        ok=True,
    )
