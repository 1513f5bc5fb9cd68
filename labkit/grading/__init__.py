"""Auto-grading: exercises registered by id, ``check()`` with clear feedback, progress.

Lesson modules define exercises::

    from labkit.grading import exercise, Grader

    @exercise("02.n_plus_one", title="Posts per user without N+1", answers=("users_with_posts",))
    def grade(g: Grader, users_with_posts) -> None: ...

Learners call ``check("02.n_plus_one", users_with_posts)``. The core imports neither IPython
nor pytest; notebook display and the CLI are thin layers on top.
"""

from __future__ import annotations

from typing import Any

from labkit.grading.checking import CheckFailed, check, check_all, run_check
from labkit.grading.grader import Grader, NotYet
from labkit.grading.references import reference_answer
from labkit.grading.registry import (
    DEFAULT_TIMEOUT,
    REGISTRY,
    Exercise,
    Registry,
    exercise,
    get_exercise,
    load_lessons,
)
from labkit.grading.result import CheckResult, CheckSummary, LearnerError, Measurement


def progress(notebook: str | None = None) -> Any:
    """Your progress so far (every notebook, or one), as a dashboard in a notebook."""
    from labkit.grading.progress_view import progress_report

    return progress_report(notebook)


__all__ = [
    "DEFAULT_TIMEOUT",
    "REGISTRY",
    "CheckFailed",
    "CheckResult",
    "CheckSummary",
    "Exercise",
    "Grader",
    "LearnerError",
    "Measurement",
    "NotYet",
    "Registry",
    "check",
    "check_all",
    "exercise",
    "get_exercise",
    "load_lessons",
    "progress",
    "reference_answer",
    "run_check",
]
