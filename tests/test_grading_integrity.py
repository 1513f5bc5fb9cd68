"""A check cannot be fooled: not by patching labkit, leftover threads or tasks, a memo kept
between calls, labkit's own reference answer, nor by replaying constants from an earlier seed.

Each test uses a demo exercise defined here (never the course's), so it proves the grader core
for every exercise rather than for one lesson.
"""

from __future__ import annotations

import asyncio
import functools
import operator
import random
import threading
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from IPython.lib.pretty import pretty

import labkit.grading.compare as compare_module
import labkit.grading.grader as grader_module
from labkit.errors import InstrumentBlinded
from labkit.grading import Grader, Registry, reference_answer, run_check
from labkit.grading.references import grader_side, same_code_as_reference
from labkit.grading.result import ERROR, NOT_YET, CheckSummary

DEMO = Registry()


# ---- demo exercises -----------------------------------------------------------------------------
@DEMO.exercise("95.sorted", title="Sorted copy", answers=("sort_copy",))
def grade_sorted(g: Grader, sort_copy: Any) -> None:
    rng = random.Random(g.seed)
    for size in (7, 12, 7):  # two inputs of one size: a memo keyed by size is caught
        values = [rng.randrange(1000) for _ in range(size)]
        g.expect_equal(g.call(sort_copy, list(values)), sorted(values), what=f"{size} values")


@DEMO.exercise("95.async_sum", title="Sum, asynchronously", answers=("asum",), timeout=5.0)
async def grade_async_sum(g: Grader, asum: Any) -> None:
    values = random.Random(g.seed).sample(range(100), 5)
    got = await g.acall(asum, values)
    g.expect_equal(got, sum(values), what="sum")


@DEMO.exercise("95.warm", title="Warm in the background", answers=("warm",), timeout=5.0)
async def grade_warm(g: Grader, warm: Any) -> None:
    cache: dict[int, int] = {}
    await g.acall(warm, cache, background_ok=True)
    for _ in range(100):
        if len(cache) == 3:
            break
        await asyncio.sleep(0.01)
    g.expect_equal(sorted(cache), [1, 2, 3], what="warmed keys")


@DEMO.exercise("95.memory", title="Few bytes", answers=("make",))
def grade_memory(g: Grader, make: Any) -> None:
    with g.traced_memory() as memory:
        g.call(make, 200_000)
    g.measure("peak bytes", memory.peak, target="< 100,000", ok=memory.peak < 100_000)


@DEMO.exercise("95.blinded", title="Grade code raises InstrumentBlinded", answers=("f",))
def grade_blinded(g: Grader, f: Any) -> None:
    g.call(f)
    raise InstrumentBlinded("Not yet: your code switched off the trace hook.")


@DEMO.exercise("95.helper", title="A labkit helper reads the answer", answers=("make_row",))
def grade_helper(g: Grader, make_row: Any) -> None:
    row = g.call(make_row)
    ident = g.call(operator.getitem, row, "id")  # the grader's helper, fed the learner's value
    g.expect_equal(ident, 7, what="id")


@DEMO.exercise("95.pairs", title="Pairs from a generator", answers=("pairs",))
def grade_pairs(g: Grader, pairs: Any) -> None:
    total = 0
    for key, value in g.call(pairs, 3):
        total += key * value
    g.expect_equal(total, 0 + 1 + 4, what="sum of key × value")


@DEMO.exercise("95.measured", title="A measurement without a result check", answers=("n",))
def grade_measured(g: Grader, n: Any) -> None:
    got = g.call(n)
    g.measure("items right", got, target="= 14", ok=got == 14)


@DEMO.exercise("95.row", title="Read the learner's row", answers=("make_row",))
def grade_row(g: Grader, make_row: Any) -> None:
    row = g.call(make_row)
    g.expect_equal(row["id"] + 1, 8, what="id + 1")


@reference_answer
def sort_copy_reference(values: list[int]) -> list[int]:
    return sorted(values)


@reference_answer
class SorterReference:
    def __init__(self, reverse: bool = False) -> None:
        self.reverse = reverse

    def __call__(self, values: list[int]) -> list[int]:
        return sorted(values, reverse=self.reverse)

    def sort(self, values: list[int]) -> list[int]:
        return sorted(values, reverse=self.reverse)


@DEMO.exercise("95.expected", title="The grader uses the reference itself", answers=("sort_copy",))
def grade_with_reference(g: Grader, sort_copy: Any) -> None:
    values = random.Random(g.seed).sample(range(100), 6)
    expected = sort_copy_reference(list(values))  # outside g.call: the grader's own use

    def checked_sort(items: list[int]) -> list[int]:
        with grader_side():  # a callback handed to the answer may use it too
            return sort_copy_reference(items)

    got = g.call(sort_copy, list(values), checked_sort)
    g.expect_equal(got, expected, what="sorted")


@pytest.fixture(autouse=True)
def home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.setenv("LABKIT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("LABKIT_STRICT", raising=False)
    yield


def check(exercise_id: str, *answers: Any, **options: Any) -> Any:
    return run_check(DEMO.get(exercise_id), answers, **options)


def sort_copy(values: list[int]) -> list[int]:
    return sorted(values)


# ---- 1. fresh seeds: constants and memos from an earlier attempt fail ---------------------------
def test_constants_copied_from_a_result_card_fail_the_next_attempt() -> None:
    first = check("95.async_sum", lambda values: sum(values))
    assert first.passed and first.seed is not None
    values = random.Random(first.seed).sample(range(100), 5)
    typed_in = sum(values)

    def hard_coded(values: list[int]) -> int:
        return typed_in

    assert check("95.async_sum", hard_coded, seed=first.seed).passed  # fits that seed only
    later = [check("95.async_sum", hard_coded) for _ in range(3)]
    assert all(r.verdict == NOT_YET for r in later if r.seed != first.seed)


def test_a_memo_kept_between_calls_or_checks_fails() -> None:
    memo: dict[int, list[int]] = {}

    def memo_by_size(values: list[int]) -> list[int]:
        if len(values) not in memo:
            memo[len(values)] = sorted(values)
        return memo[len(values)]

    result = check("95.sorted", memo_by_size)
    assert result.verdict == NOT_YET and "7 values" in result.message

    totals: dict[int, int] = {}

    def memo_across_checks(values: list[int]) -> int:
        return totals.setdefault(len(values), sum(values))  # right once, then stale

    assert check("95.async_sum", memo_across_checks).passed  # calls it once: fits
    later = [check("95.async_sum", memo_across_checks) for _ in range(3)]
    assert all(r.verdict == NOT_YET for r in later)  # a later check draws other values


def test_attempt_seed_is_recorded_and_replays_exactly() -> None:
    from labkit.grading import checking
    from labkit.grading.progress_store import ProgressStore

    outcome = checking.run_check(DEMO.get("95.memory"), (lambda n: bytes(n),))
    assert outcome.seed is not None
    checking._record(outcome)
    stored = ProgressStore().attempts()[-1]
    assert stored.seed == outcome.seed and stored.verdict == NOT_YET
    replay = check("95.sorted", sort_copy, seed=outcome.seed)
    again = check("95.sorted", sort_copy, seed=outcome.seed)
    assert (replay.verdict, replay.message) == (again.verdict, again.message)
    wrong = check("95.sorted", lambda v: v, seed=outcome.seed)
    assert wrong.message == check("95.sorted", lambda v: v, seed=outcome.seed).message
    memory = [check("95.memory", lambda n: bytes(n), seed=123) for _ in range(2)]
    assert [m.to_dict()["measurements"][0]["ok"] for m in memory] == [False, False]


def test_datasets_for_fresh_seeds_leave_nothing_behind(tmp_path: Path) -> None:
    from labkit.data import data_dir

    registry = Registry()
    paths: list[Path] = []

    @registry.exercise("95.data", title="data", answers=())
    def grade(g: Grader) -> None:
        paths.append(g.dataset("tiny"))
        paths.append(g.dataset("tiny"))
        g.expect(paths[-1].stat().st_size > 0, "a dataset")

    before = sorted(data_dir().iterdir())
    for _ in range(3):
        assert run_check(registry.get("95.data"), ()).passed
    assert sorted(data_dir().iterdir()) == before  # no file per attempt in the data folder
    assert paths and not any(p.exists() for p in paths)


# ---- 2. patching labkit -------------------------------------------------------------------------
def test_patching_a_grader_module_fails_and_is_put_back() -> None:
    original = grader_module.first_difference  # type: ignore[attr-defined]

    def blind(values: list[int]) -> list[int]:
        vars(grader_module)["first_difference"] = lambda *args, **kwargs: None
        return values  # not sorted

    result = check("95.sorted", blind)
    assert result.verdict == NOT_YET
    assert "replaced `labkit.grading.grader.first_difference`" in result.message
    assert grader_module.first_difference is original  # type: ignore[attr-defined]
    later = check("95.sorted", lambda values: values)  # the patch cannot help a later check
    assert later.verdict == NOT_YET and "expected" in later.message


def test_patching_a_class_method_or_deleting_a_function_is_caught() -> None:
    original = Grader.expect_equal

    def blind_method(values: list[int]) -> list[int]:
        Grader.expect_equal = lambda *args, **kwargs: None  # type: ignore[method-assign]
        return values

    result = check("95.sorted", blind_method)
    assert "`labkit.grading.grader.Grader.expect_equal`" in result.message
    assert Grader.expect_equal is original

    def delete(values: list[int]) -> list[int]:
        del compare_module._short
        return sorted(values)

    kept = compare_module._short
    result = check("95.sorted", delete)
    assert result.verdict == NOT_YET and "deleted `labkit.grading.compare._short`" in result.message
    assert compare_module._short is kept


def test_patching_sqlite3_or_tracemalloc_is_caught() -> None:
    def blind_library(values: list[int]) -> list[int]:
        tracemalloc.get_traced_memory = lambda: (0, 0)
        return sorted(values)

    original = tracemalloc.get_traced_memory
    result = check("95.sorted", blind_library)
    assert result.verdict == NOT_YET and "`tracemalloc.get_traced_memory`" in result.message
    assert tracemalloc.get_traced_memory is original


def test_a_patch_left_by_a_timed_out_check_is_put_back() -> None:
    original = grader_module.first_difference  # type: ignore[attr-defined]

    def patch_then_spin(values: list[int]) -> list[int]:
        vars(grader_module)["first_difference"] = lambda *args, **kwargs: None
        while True:
            pass

    result = check("95.sorted", patch_then_spin, timeout=0.3)
    assert result.verdict == NOT_YET and "did not finish" in result.message
    assert grader_module.first_difference is original  # type: ignore[attr-defined]


def test_grade_code_raising_instrument_blinded_is_not_yet() -> None:
    result = check("95.blinded", lambda: None)
    assert result.verdict == NOT_YET
    assert result.message == "Not yet: your code switched off the trace hook."


# ---- 3. work left running -----------------------------------------------------------------------
def test_a_thread_left_running_fails() -> None:
    def on_a_thread(values: list[int]) -> list[int]:
        out: list[int] = []

        def work() -> None:
            time.sleep(0.3)
            out.extend(sorted(values))

        threading.Thread(target=work, name="my-worker").start()
        time.sleep(0.01)
        return out

    result = check("95.sorted", on_a_thread)
    assert result.verdict == NOT_YET
    assert "left a thread running after it returned (my-worker)" in result.message


def test_a_timer_left_waiting_fails() -> None:
    def later(values: list[int]) -> list[int]:
        threading.Timer(0.5, lambda: None).start()
        return sorted(values)

    result = check("95.sorted", later)
    assert result.verdict == NOT_YET and "left a thread running" in result.message


def test_threads_that_finish_or_wait_idle_are_fine() -> None:
    from concurrent.futures import ThreadPoolExecutor

    def joined(values: list[int]) -> list[int]:
        with ThreadPoolExecutor(2) as pool:
            return list(pool.submit(sorted, values).result())

    kept_pool = ThreadPoolExecutor(2)

    def idle_pool(values: list[int]) -> list[int]:
        return list(kept_pool.submit(sorted, values).result())

    async def to_thread(values: list[int]) -> int:
        return await asyncio.to_thread(sum, values)

    try:
        assert check("95.sorted", joined).passed
        assert check("95.sorted", idle_pool).passed
        assert check("95.async_sum", to_thread).passed
    finally:
        kept_pool.shutdown()


def test_database_connection_threads_are_fine(tmp_path: Path) -> None:
    import aiosqlite

    path = tmp_path / "t.sqlite"

    async def with_a_connection(values: list[int]) -> int:
        async with aiosqlite.connect(path) as db:
            cursor = await db.execute("SELECT ?", (sum(values),))
            row = await cursor.fetchone()
        assert row is not None
        return int(row[0])

    assert check("95.async_sum", with_a_connection).passed  # its thread ends as it closes
    leaked: list[Any] = []

    async def leaves_it_open(values: list[int]) -> int:
        db = await aiosqlite.connect(path)
        leaked.append(db)  # an idle connection thread is no work left running
        return sum(values)

    try:
        assert check("95.async_sum", leaves_it_open).passed
    finally:
        for db in leaked:
            db.stop()


def test_a_task_left_running_fails_unless_the_exercise_allows_it() -> None:
    async def leaves_a_task(values: list[int]) -> int:
        async def late() -> None:
            await asyncio.sleep(0.5)

        asyncio.create_task(late())  # noqa: RUF006 - the leftover under test
        return sum(values)

    result = check("95.async_sum", leaves_a_task)
    assert result.verdict == NOT_YET
    assert "left an asyncio task running after it returned" in result.message

    async def cancels_its_task(values: list[int]) -> int:
        task = asyncio.create_task(asyncio.sleep(5))
        await asyncio.sleep(0)
        task.cancel()
        return sum(values)

    assert check("95.async_sum", cancels_its_task).passed

    async def warm(cache: dict[int, int]) -> None:
        async def fill() -> None:
            for key in (1, 2, 3):
                await asyncio.sleep(0.001)
                cache[key] = key

        asyncio.create_task(fill())  # noqa: RUF006 - the background task is the answer

    assert check("95.warm", warm).passed  # background_ok=True: the background task is the answer


def test_stopping_tracemalloc_is_caught() -> None:
    def stops_tracing(n: int) -> bytes:
        tracemalloc.stop()
        data = bytes(n)
        return data[:1]

    result = check("95.memory", stops_tracing)
    assert result.verdict == NOT_YET and "stopped (or reset) tracemalloc" in result.message

    def stop_and_restart(n: int) -> bytes:
        tracemalloc.stop()
        data = bytes(n)
        tracemalloc.start()
        return data[:1]

    result = check("95.memory", stop_and_restart)
    assert result.verdict == NOT_YET and "tracemalloc" in result.message
    assert not tracemalloc.is_tracing()  # the grader started it, the grader stopped it
    assert check("95.memory", lambda n: b"x" * 10).passed


# ---- 4. labkit's reference answers --------------------------------------------------------------
def test_the_reference_itself_or_an_alias_is_not_the_learners() -> None:
    mine = sort_copy_reference
    result = check("95.sorted", mine)
    assert result.verdict == NOT_YET and result.points == 0
    assert result.used_reference == "sort_copy_reference"
    assert "this is labkit's reference answer (sort_copy_reference)" in result.message
    assert result.to_dict()["used_reference"] == "sort_copy_reference"
    assert check("95.sorted", mine, allow_reference=True).passed  # the course's own tests


@pytest.mark.parametrize(
    "make",
    [
        lambda: functools.partial(sort_copy_reference),
        lambda: functools.wraps(sort_copy_reference)(lambda values: sorted(values)),
        lambda: functools.lru_cache(sort_copy_reference),
        lambda: SorterReference(),
        lambda: SorterReference().sort,
        lambda: type("Mine", (SorterReference,), {})(),
    ],
    ids=["partial", "wraps", "lru_cache", "instance", "bound method", "subclass instance"],
)
def test_wrappers_of_a_reference_are_recognised(make: Any) -> None:
    answer = make()
    assert same_code_as_reference(answer) is not None
    result = check("95.sorted", answer)
    assert result.verdict == NOT_YET and result.used_reference is not None


def test_delegating_to_a_reference_is_caught_when_it_runs() -> None:
    holder = {"impl": sort_copy_reference}

    def delegates(values: list[int]) -> list[int]:
        return holder["impl"](values)  # hidden from code identity: seen when it runs

    assert same_code_as_reference(delegates) is None
    result = check("95.sorted", delegates)
    assert result.verdict == NOT_YET and result.used_reference == "sort_copy_reference"

    def by_global_name(values: list[int]) -> list[int]:
        return sort_copy_reference(values)

    assert same_code_as_reference(by_global_name) == "sort_copy_reference"

    def on_a_thread(values: list[int]) -> list[int]:
        out: list[list[int]] = []
        worker = threading.Thread(target=lambda: out.append(holder["impl"](values)))
        worker.start()
        worker.join()
        return out[0]

    assert check("95.sorted", on_a_thread).used_reference == "sort_copy_reference"


def test_the_grader_may_use_the_reference_itself() -> None:
    def mine(values: list[int], helper: Any) -> list[int]:
        assert helper(values[:2]) == sorted(values[:2])  # the grader's callback: not flagged
        return sorted(values)

    assert check("95.expected", mine).passed


# ---- 5. messages --------------------------------------------------------------------------------
def test_labkit_helpers_are_never_called_yours() -> None:
    result = check("95.helper", lambda: {"ID": 7})
    assert result.verdict == NOT_YET
    assert "Your getitem" not in result.message
    assert result.message.startswith("Not yet: the check's helper getitem could not use")


def test_a_generator_yielding_the_wrong_shape_is_not_yet() -> None:
    def triples(n: int) -> Iterator[tuple[int, int, int]]:
        for i in range(n):
            yield i, i, i

    result = check("95.pairs", triples)
    assert result.verdict == NOT_YET, str(result)
    assert "could not use a value your pairs yielded" in result.message
    assert "too many values to unpack" in result.message

    def numbers(n: int) -> Iterator[int]:
        yield from range(n)

    result = check("95.pairs", numbers)
    assert result.verdict == NOT_YET and "cannot unpack" in result.message


def test_a_value_with_the_wrong_shape_is_not_yet_but_a_grader_bug_is_an_error() -> None:
    result = check("95.row", lambda: {"ID": 7})
    assert result.verdict == NOT_YET, str(result)
    assert "could not use what your make_row returned (KeyError: 'id')" in result.message
    assert check("95.row", lambda: {"id": 7}).passed

    registry = Registry()

    @registry.exercise("95.bug", title="A grader bug", answers=("make_row",))
    def grade(g: Grader, make_row: Any) -> None:
        g.call(make_row)
        expected: dict[str, int] = {}
        expected["typo"] += 1

    assert run_check(registry.get("95.bug"), (lambda: {"id": 7},)).verdict == ERROR


def test_correct_result_is_only_said_when_it_was_checked() -> None:
    result = check("95.measured", lambda: 12)
    assert result.verdict == NOT_YET
    assert result.message == "Not yet: items right 12 (target = 14)."


@pytest.mark.parametrize("raised", [KeyboardInterrupt, SystemExit])
def test_keyboard_interrupt_and_system_exit_are_the_learners(raised: type) -> None:
    def leaves(values: list[int]) -> list[int]:
        raise raised()

    result = check("95.sorted", leaves)
    assert result.verdict == NOT_YET
    assert result.message.startswith(f"Your sort_copy raised {raised.__name__}")


def test_terminal_ipython_prints_the_readable_text() -> None:
    result = check("95.sorted", sort_copy)
    assert pretty(result) == str(result)
    summary = CheckSummary(notebook="95", results=[result])
    assert pretty(summary) == str(summary)


def test_articles_are_proper_english() -> None:
    from labkit.grading.compare import first_difference

    assert first_difference("5", 5) == "expected an int, got a str ('5')"
    assert first_difference([1], [1, 2]) == "expected 2 items, got 1"
    assert first_difference([1, 2], [1]) == "expected 1 item, got 2"


def test_a_marker_above_a_library_decorator_marks_only_labkits_code() -> None:
    import contextlib

    from labkit.grading.references import reference_answer, same_code_as_reference

    @reference_answer
    @contextlib.asynccontextmanager
    async def session_reference() -> Any:
        yield 1

    @contextlib.asynccontextmanager
    async def learners_own_session() -> Any:
        yield 2

    assert same_code_as_reference(session_reference) is not None
    assert same_code_as_reference(learners_own_session) is None
