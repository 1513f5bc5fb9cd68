"""The grading core: verdicts, messages about the learner's code, timeouts, strict mode, logging."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import labkit.grading.checking as checking
from labkit.errors import GradingError
from labkit.grading import CheckFailed, CheckResult, Grader, Registry, check, check_all, run_check
from labkit.grading.result import ERROR, NOT_RUN, NOT_YET, PASSED

DEMO = Registry()


@DEMO.exercise("97.total", title="Add them up", answers=("total",), hint="Use sum().", points=2)
def grade_total(g: Grader, total: Any) -> None:
    got = g.call(total, [1, 2, 3, g.seed])
    g.expect_equal(got, 6 + g.seed, what="total of [1, 2, 3, seed]")


@DEMO.exercise("97.ids", title="Ids in order", answers=("ids",))
def grade_ids(g: Grader, ids: Any) -> None:
    rows = [{"id": 17}, {"id": 18}, {"id": 19}]
    g.expect_equal(g.call(ids, rows), [17, 18, 19], what="ids")


@DEMO.exercise("97.counted", title="Few calls", answers=("lookup",), hint="Cache it.")
def grade_counted(g: Grader, lookup: Any) -> None:
    calls = 0

    def source(key: int) -> int:
        nonlocal calls
        calls += 1
        return key * 2

    got = [g.call(lookup, k, source) for k in (1, 2, 1, 2)]
    g.expect_equal(got, [2, 4, 2, 4], what="values")
    g.note("four lookups of two keys")
    g.measure(
        "source calls",
        calls,
        target="≤ 2",
        ok=calls <= 2,
        hint="Each key should reach the source once.",
    )


@DEMO.exercise("97.async_total", title="Async total", answers=("atotal",), timeout=2.0)
def grade_async(g: Grader, atotal: Any) -> None:
    async def scenario() -> Any:
        await asyncio.sleep(0)
        return await g.acall(atotal, [1, 2])

    g.expect_equal(g.run(scenario()), 3, what="total")


@DEMO.exercise("97.broken", title="A check with a bug", answers=("f",))
def grade_broken(g: Grader, f: Any) -> None:
    g.call(f)
    empty: dict[str, int] = {}
    empty["grader bug"] += 1  # the bug under test


@pytest.fixture(autouse=True)
def demo_registry(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.setattr(checking, "get_exercise", DEMO.get)
    monkeypatch.setattr(checking, "load_lessons", lambda notebook=None: DEMO)
    monkeypatch.setattr(checking, "course_exercises", DEMO.for_notebook)
    monkeypatch.setenv("LABKIT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("LABKIT_STRICT", raising=False)
    monkeypatch.delenv("LABKIT_CHECK_LOG", raising=False)
    yield


def total_ok(xs: list[int]) -> int:
    return sum(xs)


def ids_with_a_bug(rows: list[dict[str, int]]) -> list[int]:
    return [row["ID"] for row in rows]


# ---- verdicts and views ------------------------------------------------------------------------
def test_passing_check() -> None:
    result = check("97.total", total_ok)
    assert result.passed and bool(result)
    assert (result.verdict, result.points, result.max_points) == (PASSED, 2, 2)
    assert result.seed is not None and 1 <= result.seed < 2**31  # drawn for this attempt
    assert "#2e7d32" in result._repr_html_()  # the green card
    assert str(result).startswith("✓ passed — 97.total")
    replay = (
        f"graded on seed {result.seed} — replay with check('97.total', ..., seed={result.seed})"
    )
    assert replay in str(result)
    assert f"seed={result.seed})</code>" in result._repr_html_()
    json.dumps(result.to_dict())


def test_wrong_value_shows_first_difference_and_hint() -> None:
    result = check("97.ids", lambda rows: [17, 19, 18])
    assert result.verdict == NOT_YET and not result
    assert result.message == "ids: item 1: expected 18, got 19"
    assert result.points == 0
    assert "#b26a00" in result._repr_html_()  # amber


def test_seed_override_changes_the_data() -> None:
    assert check("97.total", total_ok, seed=7).passed
    hard_coded = check("97.total", lambda xs: 48, seed=42)
    assert hard_coded.passed
    assert not check("97.total", lambda xs: 48, seed=7).passed


def test_failed_measurement_is_not_yet_with_its_hint() -> None:
    result = check("97.counted", lambda key, source: source(key))
    assert result.verdict == NOT_YET
    assert result.message == "Correct result, but source calls 4 (target ≤ 2)."
    assert result.hint == "Each key should reach the source once."
    assert [(m.name, m.value, m.ok) for m in result.measurements] == [("source calls", 4, False)]
    assert result.notes == ["four lookups of two keys"]
    assert result.to_frame().to_dict(orient="records") == [
        {"name": "source calls", "value": 4, "target": "≤ 2", "ok": False}
    ]


def test_measurement_met_passes() -> None:
    cache: dict[int, int] = {}

    def lookup(key: int, source: Any) -> int:
        if key not in cache:
            cache[key] = source(key)
        return cache[key]

    result = check("97.counted", lookup)
    assert result.passed, str(result)
    assert "source calls 2 (target ≤ 2)" in result.message


# ---- the learner's mistakes, in their terms ----------------------------------------------------
def test_learner_exception_shows_their_frames_only() -> None:
    result = check("97.ids", ids_with_a_bug)
    assert result.verdict == NOT_YET
    assert result.learner_error is not None
    assert result.message.startswith("Your ids raised KeyError: 'ID' (test_grading.py line ")
    assert 'row["ID"]' in result.message
    assert all("labkit" not in frame for frame in result.learner_error.frames)
    assert "Traceback" not in str(result)


def test_stub_is_not_written_yet() -> None:
    def ids(rows: Any) -> Any:
        raise NotImplementedError()

    result = check("97.ids", ids)
    assert result.verdict == NOT_YET
    assert result.message.startswith("ids is not written yet")


def test_the_untouched_stub_gets_no_hint_a_real_attempt_does() -> None:
    # A hint can give the answer away: it is shown once the learner has tried something.
    def total(xs: Any) -> Any:
        raise NotImplementedError()

    stub = check("97.total", total)
    assert stub.verdict == NOT_YET and stub.hint is None and "Hint" not in str(stub)
    tried = check("97.total", lambda xs: 0)
    assert tried.verdict == NOT_YET and tried.hint == "Use sum()."


def test_code_in_titles_renders_as_code_on_cards_and_tables() -> None:
    import dataclasses

    from labkit.grading.result import CheckSummary

    result = check("97.ids", lambda rows: [17, 19, 18])
    coded = dataclasses.replace(result, title="at most `limit` calls", message="see `ids`")
    assert "<code>limit</code>" in coded._repr_html_()
    table = CheckSummary("97", [coded])._repr_html_()
    assert "<code>limit</code>" in table and "<code>ids</code>" in table and "`" not in table


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (5, "ids should be a function, but it is an int (5)"),
        (lambda: [], "cannot be called the way this exercise calls it"),
        (lambda rows: None, "ids: expected a list, got None (is a `return` missing?)"),
        (lambda rows: {"id": 17}, "ids: expected a list, got a dict of 1 item"),
    ],
    ids=["not callable", "signature", "no return", "wrong type"],
)
def test_wrong_kind_of_answer(answer: Any, expected: str) -> None:
    result = check("97.ids", answer)
    assert result.verdict == NOT_YET
    assert expected in result.message


def test_coroutine_returned_without_await() -> None:
    async def inner(xs: list[int]) -> int:
        return sum(xs)

    async def atotal(xs: list[int]) -> Any:
        return inner(xs)

    result = check("97.async_total", atotal)
    assert result.verdict == NOT_YET
    assert "returned the coroutine" in result.message and "`await` is missing" in result.message


def test_async_answer_and_sync_answer_returning_awaitable() -> None:
    async def atotal(xs: list[int]) -> int:
        await asyncio.sleep(0)
        return sum(xs)

    assert check("97.async_total", atotal).passed
    assert check("97.total", atotal).passed  # g.call awaits on the private loop


def test_check_works_inside_a_running_event_loop() -> None:
    async def notebook_cell() -> CheckResult:
        async def atotal(xs: list[int]) -> int:
            return sum(xs)

        return check("97.async_total", atotal)

    assert asyncio.run(notebook_cell()).passed


def test_wrong_number_of_answers() -> None:
    result = check("97.total", total_ok, total_ok)
    assert result.verdict == NOT_YET
    assert result.message == (
        "97.total takes 1 answer: total, but 2 were given. Call check('97.total', total)."
    )


def test_unknown_exercise_suggests_close_matches() -> None:
    result = check("97.totl", total_ok)
    assert result.verdict == NOT_YET
    assert result.message == "No exercise '97.totl'. Did you mean '97.total' or '97.async_total'?"
    with pytest.raises(GradingError, match="must be a string"):
        DEMO.get(97)


def test_grader_bug_is_an_internal_error_not_a_traceback() -> None:
    result = check("97.broken", lambda: None)
    assert result.verdict == ERROR
    assert result.message.startswith("This check failed internally — please report it")
    assert result.detail is not None and "KeyError: 'grader bug'" in result.detail
    assert "<details><summary>Details for the course maintainers" in result._repr_html_()


# ---- time limits and output ----------------------------------------------------------------------
def spin(xs: list[int]) -> int:
    while True:
        try:
            xs.append(0)
            xs.pop()
        except Exception:  # a learner swallowing errors cannot swallow the time limit
            continue


def test_runaway_loop_is_stopped_and_later_checks_run() -> None:
    result = check("97.total", spin, timeout=0.3)
    assert result.verdict == NOT_YET
    assert result.message == "Your total did not finish within 0.3 s."
    assert not any("background" in note for note in result.notes)  # stopped, not abandoned
    assert check("97.total", total_ok).passed


def test_blocked_code_is_abandoned_with_a_note() -> None:
    def blocked(xs: list[int]) -> int:
        time.sleep(1.5)
        return sum(xs)

    result = check("97.total", blocked, timeout=0.2)
    assert result.verdict == NOT_YET
    assert any("still be running in the background" in note for note in result.notes)
    assert check("97.total", total_ok).passed


def test_runaway_async_code_is_cancelled() -> None:
    async def atotal(xs: list[int]) -> int:
        await asyncio.sleep(60)
        return 3

    result = check("97.async_total", atotal, timeout=0.3)
    assert result.verdict == NOT_YET
    assert "did not finish within 0.3 s" in result.message
    assert not result.notes


def test_large_output_is_captured_and_truncated(capsys: pytest.CaptureFixture[str]) -> None:
    def noisy(xs: list[int]) -> int:
        for i in range(50_000):
            print("line", i)
        return sum(xs)

    result = check("97.total", noisy)
    assert result.passed
    assert result.output_chars == sum(len(f"line {i}\n") for i in range(50_000))
    assert len(result.output) < 4_100 and "more characters not shown" in result.output
    assert capsys.readouterr().out == ""


# ---- strict mode, the check log, check_all -------------------------------------------------------
def test_strict_mode_raises_on_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABKIT_STRICT", "1")
    assert check("97.total", total_ok).passed
    with pytest.raises(CheckFailed) as info:
        check("97.ids", lambda rows: [])
    assert isinstance(info.value.result, CheckResult)
    assert not info.value.result.passed


def test_check_log_gets_one_json_line_per_check(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    log = tmp_path / "checks.jsonl"
    monkeypatch.setenv("LABKIT_CHECK_LOG", str(log))
    check("97.total", total_ok)
    check("97.ids", lambda rows: [])
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(d["exercise"], d["verdict"], d["notebook"]) for d in lines] == [
        ("97.total", PASSED, "97"),
        ("97.ids", NOT_YET, "97"),
    ]


def test_check_records_progress() -> None:
    from labkit.grading.progress_store import ProgressStore

    check("97.total", total_ok)
    check("97.ids", lambda rows: [])
    attempts = ProgressStore().attempts()
    assert [(a.exercise, a.verdict, a.points) for a in attempts] == [
        ("97.total", PASSED, 2),
        ("97.ids", NOT_YET, 0),
    ]


def test_check_all_uses_the_callers_namespace() -> None:
    total = total_ok  # noqa: F841 - found by name in this frame

    def ids(rows: list[dict[str, int]]) -> list[int]:
        return [r["id"] for r in rows]

    summary = check_all("97")
    verdicts = {r.exercise_id: r.verdict for r in summary.results}
    assert verdicts["97.total"] == PASSED and verdicts["97.ids"] == PASSED
    assert verdicts["97.counted"] == NOT_RUN
    assert "lookup is not defined yet" in summary.results[2].message
    assert summary.headline().startswith(f"Notebook 97: 2/{summary.total} passed")
    assert "<table>" in summary._repr_html_() and "2/5 passed" in str(summary)
    assert not summary


def test_check_all_unknown_notebook() -> None:
    with pytest.raises(GradingError, match="has no exercises"):
        check_all("55", {})


# ---- registry ------------------------------------------------------------------------------------
def test_registry_rejects_bad_ids_and_duplicates() -> None:
    registry = Registry()
    with pytest.raises(GradingError, match="must look like"):
        registry.exercise("n_plus_one", title="x", answers=("f",))
    with pytest.raises(GradingError, match="tuple of names"):
        registry.exercise("02.x", title="x", answers="f")  # type: ignore[arg-type]

    def grade(g: Grader, f: Any) -> None:
        pass

    registry.exercise("02.x", title="x", answers=("f",))(grade)
    registry.exercise("02.x", title="x again", answers=("f",))(grade)  # re-run: replaced
    assert registry.get("02.x").title == "x again"

    def other(g: Grader, f: Any) -> None:
        pass

    with pytest.raises(GradingError, match="defined twice"):
        registry.exercise("02.x", title="x", answers=("f",))(other)


def test_each_attempt_draws_its_own_seed_unless_one_is_given() -> None:
    seen: list[int] = []
    registry = Registry()

    @registry.exercise("96.seed", title="seed", answers=())
    def grade(g: Grader) -> None:
        seen.append(g.seed)

    results = [run_check(registry.get("96.seed"), ()) for _ in range(3)]
    assert run_check(registry.get("96.seed"), (), seed=5).passed
    assert [r.seed for r in results] == seen[:3] and seen[3] == 5
    assert len(set(seen[:3])) == 3 and all(1 <= s < 2**31 for s in seen)
    assert checking.default_seed() == 42  # the notebooks' datasets, not the checks' seeds


def test_dataset_is_a_fresh_copy_for_the_seed_removed_afterwards(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import labkit.data

    calls: list[tuple[str, int]] = []

    def fake_fresh_copy(size: str = "tiny", seed: int = 42, dest: Path | None = None) -> Path:
        assert dest is not None
        calls.append((size, seed))
        dest.write_text("db")
        return dest

    monkeypatch.setattr(labkit.data, "fresh_copy", fake_fresh_copy, raising=False)
    paths: list[Path] = []
    registry = Registry()

    @registry.exercise("96.data", title="data", answers=())
    def grade(g: Grader) -> None:
        paths.append(g.dataset("small"))
        paths.append(g.dataset())
        g.expect(paths[0] != paths[1] and paths[0].exists(), "two separate copies")

    assert run_check(registry.get("96.data"), (), seed=9).passed
    assert calls == [("small", 9), ("tiny", 9)]
    assert not any(p.exists() for p in paths)


def test_building_a_dataset_does_not_count_against_the_time_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import labkit.data

    def slow_fresh_copy(size: str = "tiny", seed: int = 42, dest: Path | None = None) -> Path:
        time.sleep(0.6)  # a first build, longer than the check's whole limit
        assert dest is not None
        dest.write_text("db")
        return dest

    monkeypatch.setattr(labkit.data, "fresh_copy", slow_fresh_copy, raising=False)
    registry = Registry()

    @registry.exercise("96.slow_data", title="data", answers=(), timeout=0.3)
    def grade(g: Grader) -> None:
        g.dataset()

    assert run_check(registry.get("96.slow_data"), ()).passed


def test_excluded_time_with_a_fake_clock() -> None:
    from labkit.grading.runner import ExcludedTime

    now = [100.0]
    excluded = ExcludedTime(clock=lambda: now[0])
    with excluded.pause():
        now[0] += 5
        assert excluded.seconds() == 5
        with excluded.pause():  # nested pauses count once
            now[0] += 1
    now[0] += 10
    assert excluded.seconds() == 6


def test_public_names() -> None:
    import labkit
    import labkit.grading as grading
    import labkit.grading.progress_store  # a submodule must not shadow progress()

    assert callable(grading.progress) and labkit.progress is grading.progress
    assert labkit.check is check and labkit.check_all is check_all
    assert grading.__all__ == sorted(grading.__all__, key=lambda n: (not n.isupper(), n))


def test_card_shows_backticked_code_as_code_and_escapes_the_rest() -> None:
    from labkit.grading.result import CheckResult

    result = CheckResult(
        exercise_id="97.ids",
        title="Ids",
        verdict=NOT_YET,
        points=0,
        max_points=1,
        message="expected <list>",
        hint="Use `WHERE id IN (...)` once, then `dict` lookups; a lone ` stays as it is",
    )
    card = result._repr_html_()
    assert "expected &lt;list&gt;" in card
    assert "a lone ` stays" in card  # odd number of backticks: shown literally
    plain = CheckResult(
        exercise_id="97.ids", title="Ids", verdict=NOT_YET, points=0, max_points=1,
        message="", hint="Use `WHERE id IN (...)` once",
    )  # fmt: skip
    assert "Use <code>WHERE id IN (...)</code> once" in plain._repr_html_()
