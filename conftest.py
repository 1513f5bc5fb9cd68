"""Root pytest configuration, shared by the unit tests and the notebook runs (nbmake).

Notebook kernels inherit this process's environment when they start, so per-notebook settings
are made here: solution notebooks run with LABKIT_STRICT=1 (a failed check raises), student
notebooks without it (their checks must report "not yet", not fail the run).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

# Progress written by tests and notebook runs goes to a throw-away home, never the user's.
os.environ.setdefault("LABKIT_HOME", tempfile.mkdtemp(prefix="labkit-test-home-"))
os.environ.setdefault("MPLBACKEND", "Agg")


def pytest_runtest_setup(item: pytest.Item) -> None:
    path = Path(str(item.path))
    if path.suffix != ".ipynb":
        return
    if "solutions" in path.parts:
        os.environ["LABKIT_STRICT"] = "1"
    else:
        os.environ.pop("LABKIT_STRICT", None)
