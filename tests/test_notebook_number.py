"""labkit.notebook_number: the one reading of which notebook a name belongs to."""

from __future__ import annotations

from pathlib import Path

import pytest

from labkit.notebook_number import notebook_number, session_notebook


@pytest.mark.parametrize(
    ("name", "number"),
    [
        ("02.n_plus_one", "02"),  # an exercise id
        ("02_query_tuning.ipynb", "02"),
        ("notebooks/solutions/06_capstone.ipynb", "06"),
        (Path("class/alice/03_caching.ipynb"), "03"),
        ("alice_02_query_tuning.ipynb", "02"),  # a class's file names carry the student first
        ("2", "02"),  # what a learner types
        (" 02 ", "02"),
        ("02_queries", "02"),
        ("05", "05"),
        ("notes.ipynb", None),
        ("123_x.ipynb", None),
        ("2_x.ipynb", None),
        ("", None),
    ],
)
def test_notebook_number(name: str | Path, number: str | None) -> None:
    assert notebook_number(name) == number


def test_session_notebook_reads_jupyterlab_s_session_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JPY_SESSION_NAME", "/home/learner/labkit/notebooks/04_concurrency.ipynb")
    assert session_notebook() == "04"
    monkeypatch.setenv("JPY_SESSION_NAME", "/home/learner/Untitled.ipynb")
    assert session_notebook() is None
    monkeypatch.delenv("JPY_SESSION_NAME")
    assert session_notebook() is None
