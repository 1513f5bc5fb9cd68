"""Answers used to prove that every check discriminates, one module per lesson.

``tests/answers/<lesson module stem>.py`` (``n02_queries.py`` for ``labkit.lessons.n02_queries``)
defines ``CASES = {exercise_id: Case(...)}``. ``tests/test_discrimination.py`` runs each entry
against its exercise under the default seed and a second seed.

Each entry is a tuple of answers in the order of the exercise's ``answers``; when an answer
carries state (a cache instance, a counter) give a zero-argument callable returning that tuple
instead, so every run starts from a fresh one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Answers = tuple[Any, ...] | Callable[[], tuple[Any, ...]]


@dataclass(frozen=True)
class Case:
    """What a check must reject and accept.

    stub: what the released student notebook holds (raises NotImplementedError) — must fail.
    reference: the solution notebook's answer — must pass.
    alternatives: different correct answers (>= 1) — each must pass.
    wrong: plausible wrong answers by name (>= 2) — each must fail.
    fits_default_seed: names in ``wrong`` that only fit the default seed (a hard-coded answer):
        they must fail under the second seed and may pass under the default one.
    """

    stub: Answers
    reference: Answers
    alternatives: Sequence[Answers] = ()
    wrong: Mapping[str, Answers] = field(default_factory=dict)
    fits_default_seed: tuple[str, ...] = ()


def materialise(answers: Answers) -> tuple[Any, ...]:
    """The answers tuple for one run (a factory is called afresh every time)."""
    if isinstance(answers, tuple):
        return answers
    if callable(answers):
        made = answers()
        return made if isinstance(made, tuple) else (made,)
    raise TypeError(f"a Case entry must be a tuple of answers or a factory, not {answers!r}")
