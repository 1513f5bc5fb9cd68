"""The exercise registry: exercises are defined in code and looked up by id, never by cell metadata.

Copying, splitting or deleting notebook cells therefore cannot break grading: a check only needs
the exercise id and the learner's answers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from labkit.errors import GradingError, close_matches, quoted_choices
from labkit.notebook_number import notebook_number

DEFAULT_TIMEOUT = 10.0
"""Seconds a check may take unless its exercise says otherwise."""

_ID_PATTERN = re.compile(r"^[0-9]{2}\.[A-Za-z0-9_]+$")  # the notebook's number, then a name

GradeFunction = Callable[..., Any]
F = TypeVar("F", bound=GradeFunction)


@dataclass(frozen=True)
class Exercise:
    """One graded exercise: its id, the answers it takes and the function that grades them."""

    id: str
    title: str
    answers: tuple[str, ...]
    grade: GradeFunction = field(repr=False)
    hint: str | None = None
    points: int = 1
    timeout: float = DEFAULT_TIMEOUT
    module: str = ""

    @property
    def notebook(self) -> str:
        """The notebook part of the id: ``"02"`` for ``"02.n_plus_one"``."""
        return notebook_number(self.id) or ""  # registration holds every id to "NN.name"

    @property
    def name(self) -> str:
        return self.id.split(".", 1)[1]

    def answers_text(self) -> str:
        """``"1 answer: users_with_posts"`` — used in messages about wrong arguments."""
        count = len(self.answers)
        noun = "answer" if count == 1 else "answers"
        return f"{count} {noun}: {', '.join(self.answers)}" if count else "no answers"


class Registry:
    """Exercises keyed by id. The module-level ``REGISTRY`` holds the course's exercises;
    tests build their own so demo exercises never leak into the course."""

    def __init__(self) -> None:
        self._exercises: dict[str, Exercise] = {}

    def add(self, ex: Exercise) -> None:
        old = self._exercises.get(ex.id)
        # Re-running a lesson module (importlib.reload, or a cell that defines an exercise twice)
        # replaces the exercise; two *different* definitions of one id are a course bug.
        if old is not None and (old.module, _qualname(old.grade)) != (
            ex.module,
            _qualname(ex.grade),
        ):
            raise GradingError(
                f"exercise id {ex.id!r} is defined twice: in {old.module} "
                f"({_qualname(old.grade)}) and in {ex.module} ({_qualname(ex.grade)})"
            )
        self._exercises[ex.id] = ex

    def get(self, exercise_id: object) -> Exercise:
        """The exercise with this id; a wrong id gets a message naming the close matches."""
        if not isinstance(exercise_id, str):
            raise GradingError(
                f"the exercise id must be a string such as '02.n_plus_one', "
                f"not {type(exercise_id).__name__} {exercise_id!r}"
            )
        found = self._exercises.get(exercise_id.strip())
        if found is not None:
            return found
        raise GradingError(self._unknown_id_message(exercise_id))

    def _unknown_id_message(self, exercise_id: str) -> str:
        ids = sorted(self._exercises)
        if not ids:
            return f"No exercise {exercise_id!r}: no exercises are registered"
        close = close_matches(exercise_id, ids)
        if not close:
            prefix = notebook_number(exercise_id)
            close = [i for i in ids if prefix is not None and notebook_number(i) == prefix][:5]
        if close:
            return f"No exercise {exercise_id!r}. Did you mean {quoted_choices(close)}?"
        return (
            f"No exercise {exercise_id!r}. Exercise ids look like '<notebook>.<name>'; "
            f"notebooks with exercises: {', '.join(self.notebooks())}"
        )

    def for_notebook(self, notebook: str, order: tuple[str, ...] = ()) -> list[Exercise]:
        """The exercises of one notebook: in ``order`` (the lesson's ``EXERCISES``) first, then
        any others in the order they were defined."""
        found = [ex for ex in self._exercises.values() if ex.notebook == notebook]
        rank = {exercise_id: i for i, exercise_id in enumerate(order)}
        return sorted(found, key=lambda ex: rank.get(ex.id, len(rank)))

    def notebooks(self) -> list[str]:
        return sorted({ex.notebook for ex in self._exercises.values()})

    def __iter__(self) -> Iterator[Exercise]:
        return iter(list(self._exercises.values()))

    def __len__(self) -> int:
        return len(self._exercises)

    def __contains__(self, exercise_id: object) -> bool:
        return exercise_id in self._exercises

    def exercise(
        self,
        exercise_id: str,
        *,
        title: str,
        answers: tuple[str, ...] | list[str],
        hint: str | None = None,
        points: int = 1,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> Callable[[F], F]:
        """Decorator registering a grade function ``fn(g: Grader, *answers)`` under an id."""
        if not _ID_PATTERN.match(exercise_id):
            raise GradingError(
                f"exercise id {exercise_id!r} must look like '<notebook>.<name>', "
                "e.g. '02.n_plus_one'"
            )
        if isinstance(answers, str):
            raise GradingError(
                f"{exercise_id}: answers must be a tuple of names, e.g. ({answers!r},)"
            )
        if points < 0 or timeout <= 0:
            raise GradingError(f"{exercise_id}: points must be >= 0 and timeout > 0")

        def register(fn: F) -> F:
            self.add(
                Exercise(
                    id=exercise_id,
                    title=title,
                    answers=tuple(answers),
                    grade=fn,
                    hint=hint,
                    points=points,
                    timeout=float(timeout),
                    module=getattr(fn, "__module__", "") or "",
                )
            )
            return fn

        return register


def _qualname(fn: Callable[..., Any]) -> str:
    return getattr(fn, "__qualname__", repr(fn))


REGISTRY = Registry()
"""The course's exercises, filled by importing the lessons in ``labkit.lessons``."""

exercise = REGISTRY.exercise


def load_lessons(notebook: str | None = None) -> Registry:
    """Import the lesson of ``notebook`` (or every lesson), registering its exercises; return
    the registry."""
    from labkit import lessons

    if notebook is None:
        lessons.load_all()
    else:
        lessons.load_lesson(notebook)
    return REGISTRY


def course_exercises(notebook: str) -> list[Exercise]:
    """The course exercises of one notebook, in the order its lesson's ``EXERCISES`` gives."""
    from labkit import lessons

    load_lessons(notebook)
    return REGISTRY.for_notebook(notebook, lessons.exercise_order(notebook))


def get_exercise(exercise_id: object) -> Exercise:
    """The course exercise with this id (only its lesson is imported)."""
    if isinstance(exercise_id, str) and _ID_PATTERN.match(exercise_id.strip()):
        notebook = notebook_number(exercise_id)
        if exercise_id.strip() in load_lessons(notebook):
            return REGISTRY.get(exercise_id)
    return load_lessons().get(exercise_id)
