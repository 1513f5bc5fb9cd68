"""Predictions: shown beside the measured value, kept in the store, released as None."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest

from labkit import calibration, prediction
from labkit.errors import LabkitError
from labkit.grading.release import strip_solutions
from labkit.predictions import Prediction


@pytest.fixture(autouse=True)
def home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("LABKIT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    monkeypatch.setattr("labkit.predictions._made_here", {})
    return tmp_path / "home"


def test_a_numeric_prediction_says_how_far_off_it_was() -> None:
    shown = prediction("my_guess_ms", 5, 20.0, unit="ms", notebook="02")
    assert shown.off_by == pytest.approx(4.0)
    assert str(shown) == "my_guess_ms: you predicted 5 ms, measured 20 ms — off by ×4."
    assert "off by ×4" in shown._repr_html_()


def test_no_prediction_still_shows_the_measurement() -> None:
    shown = prediction("my_guess_ms", None, 12.5, unit="ms", notebook="02")
    assert not shown.made
    assert "you did not predict" in str(shown)
    assert "12.5 ms" in str(shown)


def test_true_false_and_text_predictions_are_right_or_not() -> None:
    assert prediction("my_guess_faster", True, False).verdict == "not this time"
    assert prediction("my_guess_phase", "DB ", "db").verdict == "right"


def test_zero_or_negative_values_are_compared_by_difference() -> None:
    assert prediction("my_guess_lag", 0, 3.0, unit="ms").verdict == "off by 3 ms"


def test_a_nan_guess_counts_as_no_guess_and_a_nan_measurement_is_refused() -> None:
    assert not prediction("my_guess_x", math.nan, 1.0).made
    with pytest.raises(LabkitError, match="finite"):
        prediction("my_guess_x", 1, math.inf)
    with pytest.raises(LabkitError, match="should be a number"):
        prediction("my_guess_x", [1], 1.0)


def test_predictions_are_stored_and_the_latest_per_name_is_calibrated() -> None:
    prediction("my_guess_a", 1, 2, notebook="02")
    prediction("my_guess_a", 3, 2, notebook="02")
    prediction("my_guess_b", None, 7, notebook="02")
    prediction("my_guess_c", 10, 10, notebook="03")
    table = calibration("02")
    assert [(r.name, r.predicted) for r in table.rows] == [("my_guess_a", 3), ("my_guess_b", None)]
    assert "1 of 2 measurements predicted" in str(table)
    assert len(calibration("all").rows) == 3
    frame = calibration("02").to_frame()
    assert list(frame["prediction"]) == ["my_guess_a", "my_guess_b"]


def test_calibration_without_a_notebook_shows_this_kernels_predictions() -> None:
    prediction("my_guess_a", 1, 2, notebook="02")
    prediction("my_guess_b", 2, 2, notebook="02")
    assert [r.name for r in calibration().rows] == ["my_guess_a", "my_guess_b"]
    assert "exact" in str(calibration())


def test_an_unwritable_store_costs_nothing_but_a_warning(home: Path) -> None:
    home.parent.mkdir(parents=True, exist_ok=True)
    home.write_text("not a folder")
    with pytest.warns(UserWarning, match="not saved"):
        shown = prediction("my_guess_a", 1, 2)
    assert isinstance(shown, Prediction)


def test_release_starts_every_one_line_prediction_at_none() -> None:
    source = "my_guess_ms = 5  # your prediction, in ms\n    my_guess_phase = 'db'\nx = 1\n"
    released, _, warnings = strip_solutions(source, where="cell 1")
    assert (
        released
        == "my_guess_ms = None  # your prediction, in ms\n    my_guess_phase = None\nx = 1\n"
    )
    assert warnings == []


def test_release_warns_about_a_prediction_that_spans_lines() -> None:
    _, _, warnings = strip_solutions("my_guess_x = \\\n    5\n", where="cell 2")
    assert "one line" in warnings[0]


def test_labkit_progress_shows_the_calibration(home: Path) -> None:
    prediction("my_guess_a", 1, 2, notebook="02")
    done = subprocess.run(
        [sys.executable, "-m", "labkit", "progress"],
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "LABKIT_HOME": str(home)},
        check=True,
    )
    assert "Your predictions across the course" in done.stdout
    assert "my_guess_a: predicted 1, measured 2 (off by ×2)" in done.stdout
