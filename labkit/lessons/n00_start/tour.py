"""A guided tour of the checks: a dry run of a check, and where progress lives.

``preview_check`` runs an exercise's check exactly as ``check`` does (same grader, same time
limit, same card) but records nothing and never raises, even under ``LABKIT_STRICT=1``: the
notebook uses it to show what a "not yet" card looks like without touching the learner's record.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labkit.display import TextView
from labkit.grading import CheckResult, get_exercise, run_check


def preview_check(exercise_id: str, *answers: Any, timeout: float | None = None) -> CheckResult:
    """The card ``check(exercise_id, *answers)`` would show; not stored in your progress."""
    return run_check(get_exercise(exercise_id), answers, timeout=timeout)


@dataclass(frozen=True, repr=False)
class ProgressPlace(TextView):
    """Where check attempts are stored, and how to start afresh."""

    home: Path
    store: Path
    from_env: bool

    @property
    def attempts(self) -> int:
        """Attempts recorded so far (0 when the store does not exist yet)."""
        from labkit.grading.progress_store import ProgressStore

        return ProgressStore(self.store).count()

    def __str__(self) -> str:
        origin = (
            "set by LABKIT_HOME" if self.from_env else "the default; set LABKIT_HOME to move it"
        )
        return (
            f"progress folder: {self.home} ({origin})\n"
            f"store:           {self.store} ({self.attempts} attempts so far)\n"
            "start afresh:    labkit progress --reset   (the old store is kept under a new name)"
        )

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(str(self))}</pre>"


def progress_place() -> ProgressPlace:
    import os

    from labkit.grading.progress_store import HOME_ENV, STORE_NAME, labkit_home

    home = labkit_home()
    return ProgressPlace(
        home=home, store=home / STORE_NAME, from_env=bool(os.environ.get(HOME_ENV))
    )
