"""Fuzz the lab API from its own OpenAPI schema: whatever the input, never a 5xx."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, settings  # noqa: E402

from labkit.app import create_app  # noqa: E402
from tests.test_app import build_dataset  # noqa: E402

# schemathesis needs the schema at import time, so the dataset is built here, not in a fixture.
_DIR = Path(tempfile.mkdtemp(prefix="labkit-fuzz-"))
atexit.register(shutil.rmtree, _DIR, True)
_DATASET = build_dataset(_DIR / "lab.sqlite")
schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(_DATASET, optimize="all"))


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case: Any) -> None:
    response = case.call()
    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.text[:200]}"
