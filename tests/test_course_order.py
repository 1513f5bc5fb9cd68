"""check_all() lists a notebook's exercises in the order the notebook asks for them."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from labkit.grading.registry import course_exercises
from labkit.notebook_number import notebook_number

SOLUTIONS = Path(__file__).resolve().parent.parent / "notebooks" / "solutions"
CHECK_CALL = re.compile(r"""check\(\s*["'](\d\d\.\w+)["']""")


def _checked_in_order(path: Path) -> list[str]:
    seen: list[str] = []
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type == "code":
            for exercise_id in CHECK_CALL.findall(cell.source):
                if exercise_id not in seen:
                    seen.append(exercise_id)
    return seen


@pytest.mark.parametrize("path", sorted(SOLUTIONS.glob("*.ipynb")), ids=lambda p: p.stem)
def test_check_all_follows_the_notebook(path: Path) -> None:
    notebook = notebook_number(path)
    assert notebook is not None
    registered = [exercise.id for exercise in course_exercises(notebook)]
    assert registered == _checked_in_order(path)
