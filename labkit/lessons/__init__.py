"""Lesson packages, one per notebook (``n02_queries`` for notebook 02).

Every lesson has the same shape::

    labkit/lessons/nNN_topic/
        __init__.py     a docstring listing the exercises, and ``EXERCISES``: their ids in the
                        order the notebook asks for them (``check_all`` lists them so)
        <technique>.py  one module per exercise (or per close group of exercises): its fixtures,
                        its reference answer(s) marked ``@reference_answer``, and its async
                        grade function
        <helper>.py     what several exercises of the lesson share, named for what it is

A check loads only the lesson it needs (``load_lesson("02")``). A lesson that fails to import
is reported with a warning and kept in ``IMPORT_ERRORS`` (the discrimination tests fail on it),
so one broken lesson does not stop the checks of every other notebook.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import warnings
from types import ModuleType

_LESSON_NAME = re.compile(r"^n(\d\d)_\w+$")

LESSON_MODULES: dict[str, str] = {
    match.group(1): f"{__name__}.{info.name}"
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda info: info.name)
    if (match := _LESSON_NAME.match(info.name))
}
"""Notebook number (``"02"``) → the lesson package's import name."""

IMPORT_ERRORS: dict[str, BaseException] = {}


def load_lesson(notebook: str) -> ModuleType | None:
    """Import the lesson of one notebook (registering its exercises); ``None`` if it has none
    or it could not be imported (then the error is in ``IMPORT_ERRORS``)."""
    name = LESSON_MODULES.get(notebook)
    if name is None:
        return None
    try:
        return importlib.import_module(name)
    except Exception as exc:  # a course bug: reported, never fatal to other notebooks' checks
        if name not in IMPORT_ERRORS:
            IMPORT_ERRORS[name] = exc
            warnings.warn(f"labkit: lesson {name} could not be imported: {exc!r}", stacklevel=2)
        return None


def load_all() -> None:
    """Import every lesson."""
    for notebook in LESSON_MODULES:
        load_lesson(notebook)


def exercise_order(notebook: str) -> tuple[str, ...]:
    """The lesson's ``EXERCISES`` (notebook order), or ``()`` when it declares none."""
    module = load_lesson(notebook)
    return tuple(getattr(module, "EXERCISES", ())) if module is not None else ()
