"""Fuzz the lab API from its own OpenAPI schema, baseline and fully tuned: every check
schemathesis has (no 5xx, documented status codes, content types and headers, bodies that match
the schema, invalid input rejected, valid input accepted, unsupported methods answered 405 with
``Allow``) must pass."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.config import SchemathesisConfig  # noqa: E402

from labkit.app import create_app  # noqa: E402
from tests.test_app import build_dataset  # noqa: E402

# schemathesis needs the schema at import time, so the dataset is built here, not in a fixture.
_DIR = Path(tempfile.mkdtemp(prefix="labkit-fuzz-"))
atexit.register(shutil.rmtree, _DIR, True)
_DATASET = build_dataset(_DIR / "lab.sqlite")
# A request can match the schema and still be wrong in a way OpenAPI cannot state: an opaque
# cursor that does not decode, offset and cursor together, an unknown field name. The API
# answers those 400 (documented as such), so 400 is an accepted answer to schema-valid data.
CONFIG = SchemathesisConfig.from_dict(
    {"checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "400", "404", "429"]}}}
)
baseline = schemathesis.openapi.from_asgi(
    "/openapi.json", create_app(_DATASET, optimize="none"), config=CONFIG
)
tuned = schemathesis.openapi.from_asgi(
    "/openapi.json", create_app(_DATASET, optimize="all"), config=CONFIG
)
FUZZ = settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))


@baseline.parametrize()  # type: ignore[untyped-decorator]
@FUZZ
def test_baseline_passes_every_check(case: Any) -> None:
    case.call_and_validate()


@tuned.parametrize()  # type: ignore[untyped-decorator]
@FUZZ
def test_tuned_passes_every_check(case: Any) -> None:
    case.call_and_validate()
