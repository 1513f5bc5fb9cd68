"""Which notebook something belongs to: the two-digit number every name in the course carries.

An exercise id (``"02.n_plus_one"``), a notebook's file name or path (``"02_query_tuning.ipynb"``,
a class's ``"alice_02_query_tuning.ipynb"``), the path JupyterLab gives the kernel and what a
learner types (``"2"``, ``"02"``, ``"02_queries"``) all name notebook ``"02"``.
"""

from __future__ import annotations

import os
import re

NOTEBOOK_NUMBER = re.compile(r"(?:^|[^0-9])([0-9]{2})(?=[._]|$)")
"""Two digits standing alone or before ``.`` / ``_``, after the start or a non-digit (group 1)."""


def notebook_number(name: str | os.PathLike[str]) -> str | None:
    """``"02"`` for each of the names above; ``None`` when ``name`` carries no notebook number."""
    text = os.path.basename(os.fspath(name).strip())
    if len(text) == 1 and text.isdigit():  # a learner's "2"
        return f"0{text}"
    match = NOTEBOOK_NUMBER.search(text)
    return match.group(1) if match else None


def session_notebook() -> str | None:
    """The number of the notebook this kernel runs, when JupyterLab says (``JPY_SESSION_NAME``
    is the notebook's path); ``None`` elsewhere."""
    session = os.environ.get("JPY_SESSION_NAME", "")
    return notebook_number(session) if session else None


__all__ = ["NOTEBOOK_NUMBER", "notebook_number", "session_notebook"]
