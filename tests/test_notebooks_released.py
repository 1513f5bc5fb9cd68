"""The committed notebooks: students' equal a fresh release, none holds solutions or outputs."""

from __future__ import annotations

from pathlib import Path

import pytest

from labkit.grading.release import SOLUTION_TEXT, check_released, has_outputs

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
SOLUTIONS = NOTEBOOKS / "solutions"
ALL = sorted(p for p in NOTEBOOKS.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def test_student_notebooks_equal_a_fresh_release() -> None:
    if not SOLUTIONS.is_dir() or not any(SOLUTIONS.glob("*.ipynb")):
        pytest.skip("no solution notebooks committed yet")
    problems = check_released(SOLUTIONS, NOTEBOOKS)
    assert not problems, "\n".join(problems) + "\nrun: labkit release"


@pytest.mark.parametrize("path", [p for p in ALL if p.parent == NOTEBOOKS], ids=lambda p: p.name)
def test_student_notebook_has_no_solution_text(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert not any(marker in text for marker in SOLUTION_TEXT)


@pytest.mark.parametrize("path", ALL, ids=lambda p: str(p.relative_to(NOTEBOOKS)))
def test_committed_notebook_has_no_outputs(path: Path) -> None:
    cells = has_outputs(path)
    assert not cells, f"{path.name}: code cells {cells} hold outputs; strip them before committing"
