"""Root pytest configuration, shared by the unit tests and the notebook runs (nbmake).

Notebook kernels inherit this process's environment when they start, so per-notebook settings
are made here: solution notebooks run with LABKIT_STRICT=1 (a failed check raises), student
notebooks without it (their checks must report "not yet", not fail the run).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

# nbmake's runs of the solution notebooks also check the prose they print (tests/prose/)
pytest_plugins = ("tests.prose.nbmake_item",)

# Progress written by tests and notebook runs goes to a throw-away home, never the user's.
# pytest-xdist workers inherit the controller's, so only the process that made it removes it.
_OWN_HOME: str | None = None
if "LABKIT_HOME" not in os.environ:
    _OWN_HOME = os.environ["LABKIT_HOME"] = tempfile.mkdtemp(prefix="labkit-test-home-")
os.environ.setdefault("MPLBACKEND", "Agg")


def pytest_runtest_setup(item: pytest.Item) -> None:
    path = Path(str(item.path))
    if path.suffix != ".ipynb":
        return
    if "solutions" in path.parts:
        os.environ["LABKIT_STRICT"] = "1"
    else:
        os.environ.pop("LABKIT_STRICT", None)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Remove the throw-away home this process made (not a worker's inherited one)."""
    if _OWN_HOME is not None and not hasattr(session.config, "workerinput"):
        shutil.rmtree(_OWN_HOME, ignore_errors=True)
