"""Lesson modules, one per notebook (``n02_queries`` for notebook 02).

Importing this package imports every lesson module (a ``nNN_topic.py`` file or a ``nNN_topic/``
package), which registers its exercises with ``labkit.grading``. Modules are found by name, so
adding a lesson needs no change here. A lesson that fails to import is reported with a warning
and kept in ``IMPORT_ERRORS`` (the discrimination tests fail on it), so one broken lesson does
not stop the checks of every other notebook.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import warnings

_LESSON_NAME = re.compile(r"^n\d\d_\w+$")

LESSON_MODULES: tuple[str, ...] = tuple(
    sorted(
        f"{__name__}.{info.name}"
        for info in pkgutil.iter_modules(__path__)
        if _LESSON_NAME.match(info.name)
    )
)

IMPORT_ERRORS: dict[str, BaseException] = {}

for _module in LESSON_MODULES:
    try:
        importlib.import_module(_module)
    except Exception as _exc:  # a course bug: reported, never fatal to other notebooks' checks
        IMPORT_ERRORS[_module] = _exc
        warnings.warn(f"labkit: lesson {_module} could not be imported: {_exc!r}", stacklevel=2)
