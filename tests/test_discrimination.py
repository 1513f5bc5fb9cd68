"""Every check discriminates: it fails the stub and the wrong answers, passes the right ones.

For each registered exercise the Case in ``tests/answers/<lesson>.py`` is run under three seeds
(the default one and two others; a learner's check draws a fresh one per attempt). An exercise
without a Case, with fewer than two wrong answers or without a different correct answer fails
this suite. A demo lesson defined here proves the harness itself (it also runs while no lesson
module exists).
"""

from __future__ import annotations

import asyncio
import heapq
import importlib
import inspect
import random
import statistics
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from labkit.grading import Exercise, Grader, Registry, load_lessons, run_check
from labkit.grading.checking import default_seed
from labkit.grading.references import same_code_as_reference
from labkit.grading.result import NOT_YET, PASSED, CheckResult
from tests.answers import Answers, Case, materialise

DEFAULT_SEED = default_seed()
SECOND_SEED = 20_231
THIRD_SEED = 90_210
SEEDS = (DEFAULT_SEED, SECOND_SEED, THIRD_SEED)
CHECK_SECONDS: list[float] = []  # every check run here, for the timing summary


# ---- the harness ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Trial:
    role: str  # "stub" | "reference" | "alternative" | "wrong"
    name: str
    answers: Answers
    must_fail_on_default_seed: bool = True

    @property
    def must_pass(self) -> bool:
        return self.role in ("reference", "alternative")


def trials(case: Case) -> list[Trial]:
    found = [Trial("stub", "stub", case.stub), Trial("reference", "reference", case.reference)]
    found += [Trial("alternative", f"alternative {i}", a) for i, a in enumerate(case.alternatives)]
    found += [
        Trial("wrong", name, a, must_fail_on_default_seed=name not in case.fits_default_seed)
        for name, a in case.wrong.items()
    ]
    return found


def run_trial(exercise: Exercise, trial: Trial) -> list[str]:
    """Run one trial under every seed; return the problems (empty when it discriminates).

    The reference and the alternatives are labkit's own answers (marked ``@reference_answer``)
    or the tests': they are graded with ``allow_reference`` — a learner handing them in is not.
    """
    problems = []
    for seed in SEEDS:
        result = run_check(
            exercise, materialise(trial.answers), seed=seed, allow_reference=trial.must_pass
        )
        CHECK_SECONDS.append(result.seconds)
        shown_seed = seed
        if trial.must_pass and result.verdict != PASSED:
            problems.append(f"{trial.name} must pass (seed {shown_seed}):\n{result}")
        if not trial.must_pass:
            must_fail = seed != DEFAULT_SEED or trial.must_fail_on_default_seed
            if result.verdict not in (NOT_YET, PASSED):  # "error" is a bug in the check itself
                problems.append(
                    f"{trial.name} gave {result.verdict!r} (seed {shown_seed}):\n{result}"
                )
            elif must_fail and result.verdict == PASSED:
                problems.append(f"{trial.name} must fail but passed (seed {shown_seed}):\n{result}")
    return problems


def case_problems(exercise: Exercise, case: Case) -> list[str]:
    problems = []
    if len(case.wrong) < 2:
        problems.append(f"{exercise.id}: needs at least 2 wrong answers, has {len(case.wrong)}")
    if not case.alternatives:
        problems.append(f"{exercise.id}: needs at least one different correct answer")
    unknown = set(case.fits_default_seed) - set(case.wrong)
    if unknown:
        problems.append(
            f"{exercise.id}: fits_default_seed names no wrong answer: {sorted(unknown)}"
        )
    return problems


def lesson_stem(exercise: Exercise) -> str:
    parts = exercise.module.split(".")
    return parts[2] if len(parts) > 2 and parts[:2] == ["labkit", "lessons"] else parts[-1]


def find_case(exercise: Exercise) -> Case | None:
    try:
        module = importlib.import_module(f"tests.answers.{lesson_stem(exercise)}")
    except ModuleNotFoundError as exc:
        if exc.name != f"tests.answers.{lesson_stem(exercise)}":
            raise
        return None
    return getattr(module, "CASES", {}).get(exercise.id)


# ---- the course's exercises ----------------------------------------------------------------------
COURSE = load_lessons()


def course_trials() -> Iterator[Any]:
    for exercise in COURSE:
        case = find_case(exercise)
        if case is None:
            continue
        for trial in trials(case):
            yield pytest.param(exercise, trial, id=f"{exercise.id}-{trial.name}")


def test_every_lesson_module_imports() -> None:
    from labkit.lessons import IMPORT_ERRORS

    assert not IMPORT_ERRORS, "\n".join(f"{m}: {e!r}" for m, e in IMPORT_ERRORS.items())


@pytest.mark.parametrize("exercise", list(COURSE), ids=lambda e: e.id)
def test_every_exercise_has_a_complete_case(exercise: Exercise) -> None:
    case = find_case(exercise)
    assert case is not None, (
        f"{exercise.id} has no Case: add it to CASES in tests/answers/{lesson_stem(exercise)}.py"
    )
    assert not case_problems(exercise, case), "\n".join(case_problems(exercise, case))


def test_every_case_names_a_registered_exercise() -> None:
    stems = {lesson_stem(e) for e in COURSE}
    stale = []
    for stem in sorted(stems):
        try:
            module = importlib.import_module(f"tests.answers.{stem}")
        except ModuleNotFoundError:
            continue
        stale += [i for i in getattr(module, "CASES", {}) if i not in COURSE]
    assert not stale, f"Cases for exercises that do not exist: {stale}"


@pytest.mark.parametrize(("exercise", "trial"), list(course_trials()))
def test_course_check_discriminates(exercise: Exercise, trial: Trial) -> None:
    problems = run_trial(exercise, trial)
    assert not problems, "\n\n".join(problems)


def _delegate(answer: Any) -> Any:
    """A learner's function that only calls labkit's reference (hidden from code identity)."""
    if not inspect.isfunction(answer):
        return answer  # a class: a subclass or an instance is caught by identity
    holder = {"reference": answer}

    def delegate(*args: Any, **kwargs: Any) -> Any:
        return holder["reference"](*args, **kwargs)

    return delegate


def marked_reference_cases() -> Iterator[Any]:
    for exercise in COURSE:
        case = find_case(exercise)
        if case is None:
            continue
        if any(same_code_as_reference(a) for a in materialise(case.reference)):
            yield pytest.param(exercise, case, id=exercise.id)


@pytest.mark.parametrize(("exercise", "case"), list(marked_reference_cases()))
def test_labkits_reference_is_not_accepted_as_the_learners(exercise: Exercise, case: Case) -> None:
    """Handing in (or delegating to) labkit's own @reference_answer is "not yet" (0 points)."""
    as_is = run_check(exercise, materialise(case.reference), seed=SECOND_SEED)
    assert as_is.verdict == NOT_YET and as_is.used_reference, str(as_is)
    delegated = tuple(_delegate(a) for a in materialise(case.reference))
    hidden = run_check(exercise, delegated, seed=SECOND_SEED)
    assert hidden.verdict == NOT_YET, str(hidden)


# ---- a demo lesson: proves the harness while (and after) the course's lessons land -------------
DEMO = Registry()


class Counted:
    """A number that counts its comparisons: the demo's "count something" measurement."""

    comparisons = 0

    def __init__(self, value: int) -> None:
        self.value = value

    def __lt__(self, other: Counted) -> bool:
        Counted.comparisons += 1
        return self.value < other.value

    def __gt__(self, other: Counted) -> bool:
        Counted.comparisons += 1
        return self.value > other.value


@DEMO.exercise("90.top_k", title="Top k without sorting everything", answers=("top_k",), points=2)
def grade_top_k(g: Grader, top_k: Any) -> None:
    rng = random.Random(g.seed)
    values = rng.sample(range(1_000_000), 4_000)
    items = [Counted(v) for v in values]
    Counted.comparisons = 0
    got = g.call(top_k, items, 10)
    comparisons = Counted.comparisons
    g.expect(isinstance(got, list), "top_k should return a list of the k largest items")
    g.expect_equal(
        [getattr(x, "value", x) for x in got], sorted(values, reverse=True)[:10], what="top 10"
    )
    g.measure(
        "comparisons",
        comparisons,
        target=f"≤ {2 * len(items):,} (a full sort needs about {len(items) * 11:,})",
        ok=comparisons <= 2 * len(items),
        hint="heapq.nlargest keeps only k items: about one comparison per item.",
    )


@DEMO.exercise(
    "90.bounded_fetch",
    title="Fetch concurrently, at most 5 in flight",
    answers=("fetch_all",),
    timeout=5.0,
)
def grade_bounded_fetch(g: Grader, fetch_all: Any) -> None:
    in_flight = peak = calls = 0
    rng = random.Random(g.seed)
    ids = rng.sample(range(1, 500), 20)

    async def fetch(item_id: int) -> dict[str, int]:
        nonlocal in_flight, peak, calls
        calls += 1
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.001)
        in_flight -= 1
        return {"id": item_id}

    async def scenario() -> Any:
        return await g.acall(fetch_all, ids, fetch)

    got = g.run(scenario())
    g.expect_equal(got, [{"id": i} for i in ids], what="fetched items, in order")
    g.measure("fetch calls", calls, target=f"= {len(ids)}", ok=calls == len(ids))
    g.measure("peak in flight", peak, target="= 5", ok=peak == 5)


def _stub(*args: Any) -> Any:
    raise NotImplementedError()


def _top_k_heap(items: list[Any], k: int) -> list[Any]:
    return heapq.nlargest(k, items)


def _top_k_manual_heap(items: list[Any], k: int) -> list[Any]:
    heap: list[tuple[int, int, Any]] = []
    for index, item in enumerate(items):
        entry = (item.value, index, item)
        if len(heap) < k:
            heapq.heappush(heap, entry)
        elif entry[0] > heap[0][0]:
            heapq.heapreplace(heap, entry)
    return [entry[2] for entry in sorted(heap, reverse=True)]


def _top_k_sorted(items: list[Any], k: int) -> list[Any]:
    return sorted(items, reverse=True)[:k]


def _top_k_ascending(items: list[Any], k: int) -> list[Any]:
    return heapq.nlargest(k, items)[::-1]


def _top_k_off_by_one(items: list[Any], k: int) -> list[Any]:
    return heapq.nlargest(k - 1, items)


_DEFAULT_TOP = sorted(random.Random(42).sample(range(1_000_000), 4_000), reverse=True)[:10]


def _top_k_hard_coded(items: list[Any], k: int) -> list[int]:
    return list(_DEFAULT_TOP)


async def _fetch_semaphore(ids: list[int], fetch: Any) -> list[Any]:
    gate = asyncio.Semaphore(5)

    async def one(item_id: int) -> Any:
        async with gate:
            return await fetch(item_id)

    return list(await asyncio.gather(*(one(i) for i in ids)))


async def _fetch_workers(ids: list[int], fetch: Any) -> list[Any]:
    results: list[Any] = [None] * len(ids)
    queue: asyncio.Queue[int] = asyncio.Queue()
    for index in range(len(ids)):
        queue.put_nowait(index)

    async def worker() -> None:
        while not queue.empty():
            index = queue.get_nowait()
            results[index] = await fetch(ids[index])

    await asyncio.gather(*(worker() for _ in range(5)))
    return results


async def _fetch_sequential(ids: list[int], fetch: Any) -> list[Any]:
    return [await fetch(i) for i in ids]


async def _fetch_unbounded(ids: list[int], fetch: Any) -> list[Any]:
    return list(await asyncio.gather(*(fetch(i) for i in ids)))


async def _fetch_forgot_await(ids: list[int], fetch: Any) -> list[Any]:
    return [fetch(i) for i in ids]


DEMO_CASES = {
    "90.top_k": Case(
        stub=(_stub,),
        reference=(_top_k_heap,),
        alternatives=[(_top_k_manual_heap,)],
        wrong={
            "full sort": (_top_k_sorted,),
            "ascending": (_top_k_ascending,),
            "off by one": (_top_k_off_by_one,),
            "hard-coded for seed 42": (_top_k_hard_coded,),
        },
        fits_default_seed=("hard-coded for seed 42",),
    ),
    "90.bounded_fetch": Case(
        stub=(_stub,),
        reference=(_fetch_semaphore,),
        alternatives=[(_fetch_workers,)],
        wrong={
            "sequential": (_fetch_sequential,),
            "unbounded gather": (_fetch_unbounded,),
            "missing await": (_fetch_forgot_await,),
        },
    ),
}


def demo_trials() -> Iterator[Any]:
    for exercise_id, case in DEMO_CASES.items():
        for trial in trials(case):
            yield pytest.param(DEMO.get(exercise_id), trial, id=f"{exercise_id}-{trial.name}")


def test_demo_cases_are_complete() -> None:
    assert {e.id for e in DEMO} == set(DEMO_CASES)
    for exercise in DEMO:
        assert not case_problems(exercise, DEMO_CASES[exercise.id])


@pytest.mark.parametrize(("exercise", "trial"), list(demo_trials()))
def test_demo_check_discriminates(exercise: Exercise, trial: Trial) -> None:
    problems = run_trial(exercise, trial)
    assert not problems, "\n\n".join(problems)


def test_harness_reports_a_check_that_does_not_discriminate() -> None:
    """The harness itself can fail: a check that accepts everything is caught."""
    lax = Registry()

    @lax.exercise("91.lax", title="Accepts anything", answers=("f",))
    def grade(g: Grader, f: Any) -> None:
        pass

    exercise = lax.get("91.lax")
    assert run_trial(exercise, Trial("wrong", "anything", (_top_k_sorted,)))
    assert run_trial(exercise, Trial("stub", "stub", (_stub,)))
    assert not run_trial(exercise, Trial("reference", "reference", (_top_k_heap,)))


def test_hard_coded_answer_is_caught_by_the_second_seed() -> None:
    exercise = DEMO.get("90.top_k")
    on_default = run_check(exercise, (_top_k_hard_coded,), seed=DEFAULT_SEED)
    on_second = run_check(exercise, (_top_k_hard_coded,), seed=SECOND_SEED)
    assert on_default.verdict == PASSED  # it fits the default seed: only the second seed shows it
    assert on_second.verdict == NOT_YET


# ---- stability: the same verdicts with a CPU-burning process on the other core -----------------
def _verdicts(pairs: list[tuple[Exercise, Trial]]) -> list[tuple[str, str, str]]:
    out = []
    for exercise, trial in pairs:
        for seed in SEEDS:
            result: CheckResult = run_check(
                exercise, materialise(trial.answers), seed=seed, allow_reference=trial.must_pass
            )
            out.append((exercise.id, trial.name, result.verdict))
    return out


def test_verdicts_are_stable_under_cpu_load() -> None:
    pairs = [(p.values[0], p.values[1]) for p in demo_trials()]
    course = [(p.values[0], p.values[1]) for p in course_trials()]
    pairs += course[:: max(1, len(course) // 6)][:6]  # a few course exercises, kept short
    quiet = _verdicts(pairs)
    burner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        busy = _verdicts(pairs)
    finally:
        burner.kill()
        burner.wait()
    assert busy == quiet


def test_zz_report_check_timing(capsys: pytest.CaptureFixture[str]) -> None:
    """Not an assertion on time (never pass/fail by the clock): prints the median for the log."""
    if CHECK_SECONDS:
        with capsys.disabled():
            print(
                f"\n[discrimination] {len(CHECK_SECONDS)} checks, median "
                f"{statistics.median(CHECK_SECONDS) * 1000:.1f} ms per check"
            )
