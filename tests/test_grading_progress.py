"""The progress store: atomic appends, a locked store, a corrupt store, and the reports."""

from __future__ import annotations

import argparse
import sqlite3
from pathlib import Path

import pytest

from labkit.grading.progress_store import ProgressStore, ProgressWarning, labkit_home
from labkit.grading.progress_view import build_report
from labkit.grading.registry import Registry
from labkit.grading.result import NOT_YET, PASSED, CheckResult, Measurement, measurements_text


def result(exercise: str, verdict: str = PASSED, points: int = 1) -> CheckResult:
    return CheckResult(
        exercise_id=exercise,
        title="t",
        verdict=verdict,
        points=points if verdict == PASSED else 0,
        max_points=points,
        message="m",
        measurements=[Measurement("SQL statements", 2, "≤ 2", True)],
        seed=42,
    )


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        self.now += 60
        return self.now


def store_at(tmp_path: Path) -> ProgressStore:
    return ProgressStore(tmp_path / "progress.sqlite", clock=Clock(), sleep=lambda s: None)


def test_labkit_home_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LABKIT_HOME", str(tmp_path))
    assert labkit_home() == tmp_path
    monkeypatch.delenv("LABKIT_HOME")
    assert labkit_home().name == "labkit"


def test_records_and_reads_attempts(tmp_path: Path) -> None:
    store = store_at(tmp_path)
    assert store.record(result("02.a", NOT_YET))
    assert store.record(result("02.a"))
    assert store.record(result("03.b"))
    attempts = store.attempts()
    assert [(a.exercise, a.verdict) for a in attempts] == [
        ("02.a", NOT_YET),
        ("02.a", PASSED),
        ("03.b", PASSED),
    ]
    assert attempts[0].measurements == [
        {"name": "SQL statements", "value": 2, "target": "≤ 2", "ok": True}
    ]
    assert [a.exercise for a in store.attempts("03")] == ["03.b"]


def test_count_is_the_number_of_attempts_parked_ones_included(tmp_path: Path) -> None:
    store = store_at(tmp_path)
    assert store.count() == 0 and not store.path.exists()  # counting creates no store
    store.record(result("02.a", NOT_YET))
    store.record(result("03.b"))
    assert store.count() == 2
    holder = sqlite3.connect(store.path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    store.busy_timeout = 0.01
    with pytest.warns(ProgressWarning, match="busy"):
        store.record(result("02.a"))
    holder.execute("ROLLBACK")
    holder.close()
    assert store.count() == len(store.attempts()) == 3


def test_locked_store_parks_the_attempt_then_merges_it(tmp_path: Path) -> None:
    store = store_at(tmp_path)
    store.record(result("02.a", NOT_YET))
    holder = sqlite3.connect(store.path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    store.busy_timeout = 0.01
    with pytest.warns(ProgressWarning, match="busy"):
        assert not store.record(result("02.a"))
    # the parked attempt is not lost: it shows in reports even while the store is locked
    with pytest.warns(ProgressWarning, match="could not be read"):
        assert [a.verdict for a in store.attempts()] == [PASSED]
    holder.execute("ROLLBACK")
    holder.close()
    assert store.record(result("02.b"))
    assert not store.pending_path.exists()
    rows = sqlite3.connect(store.path).execute("SELECT exercise, verdict FROM attempts").fetchall()
    assert sorted(rows) == [("02.a", NOT_YET), ("02.a", PASSED), ("02.b", PASSED)]


def test_corrupt_store_is_moved_aside(tmp_path: Path) -> None:
    store = store_at(tmp_path)
    store.path.write_bytes(b"this is not an SQLite database, just bytes" * 100)
    with pytest.warns(ProgressWarning, match="damaged"):
        assert store.record(result("02.a"))
    aside = tmp_path / "progress.sqlite.corrupt-1"
    assert aside.read_bytes().startswith(b"this is not")
    assert [a.exercise for a in store.attempts()] == ["02.a"]
    # a second corruption gets the next free name
    store.path.write_bytes(b"garbage" * 100)
    fresh = store_at(tmp_path)
    with pytest.warns(ProgressWarning):
        fresh.record(result("02.b"))
    assert (tmp_path / "progress.sqlite.corrupt-2").exists()


def test_unwritable_home_warns_and_keeps_going(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    store = ProgressStore(blocker / "sub" / "progress.sqlite")
    with pytest.warns(ProgressWarning, match="could not be saved"):
        assert not store.record(result("02.a"))


def test_reset_moves_the_store_aside(tmp_path: Path) -> None:
    store = store_at(tmp_path)
    store.record(result("02.a"))
    moved = store.reset()
    assert moved is not None and moved.name == "progress.sqlite.reset-1"
    assert store.attempts() == []


def test_report_lists_untried_exercises_and_best_points(tmp_path: Path) -> None:
    registry = Registry()
    for name in ("a", "b"):
        registry.exercise(f"02.{name}", title=f"Exercise {name}", answers=(), points=2)(
            lambda g: None
        )
    store = store_at(tmp_path)
    store.record(result("02.a", PASSED, points=2))
    store.record(result("02.a", NOT_YET, points=2))
    report = build_report(store.attempts(), list(registry), str(store.path))
    text = str(report)
    assert "Notebook 02: 1/2 passed, 2/4 points" in text
    assert "not tried" in text
    frame = report.to_frame()
    assert frame[["exercise", "passed", "points", "attempts", "last_verdict"]].values.tolist() == [
        ["02.a", True, 2, 2, NOT_YET],
        ["02.b", False, 0, 0, "not tried"],
    ]
    assert "<table>" in report._repr_html_()


def test_dashboard_builds_widgets(tmp_path: Path) -> None:
    pytest.importorskip("ipywidgets")
    from labkit.grading.dashboard import build_dashboard

    store = store_at(tmp_path)
    store.record(result("02.a"))
    report = build_report(store.attempts(), [], str(store.path))
    box = build_dashboard(report)
    bar = box.children[0].children[0]
    assert (bar.value, bar.max) == (1, 1)


def test_progress_command_prints_the_table(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from labkit.commands import progress as command

    monkeypatch.setenv("LABKIT_HOME", str(tmp_path))
    ProgressStore().record(result("02.zz_not_in_course"))
    assert command.run(argparse.Namespace(notebook="02", json=False, reset=False)) == 0
    out = capsys.readouterr().out
    assert "02.zz_not_in_course" in out and "progress store" in out
    assert command.run(argparse.Namespace(notebook=None, json=False, reset=True)) == 0
    assert "progress moved to" in capsys.readouterr().out


def test_measurements_read_the_same_from_a_result_and_from_the_store() -> None:
    """One text for what was measured: in the check's message, the dashboard and the gradebook."""
    measured = [
        Measurement("statements", 101, target="≤ 2", ok=False),
        Measurement("hit ratio", 0.8512, target="≥ 0.8", ok=True),
    ]
    text = "statements 101 (target ≤ 2); hit ratio 0.851 (target ≥ 0.8)"
    assert measurements_text(measured) == text
    assert measurements_text([m.to_dict() for m in measured]) == text
    assert measurements_text([measured[0].to_dict(), "not a measurement"]) == text.split(";")[0]
