"""``run_load(requests=N)``: a closed loop that stops after exactly N measured requests.

Against the small in-process aiohttp server of ``tests.test_load``; every assertion counts.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from labkit.errors import LoadError
from labkit.load import LoadResult, run_load
from tests.test_load import counting_handler, tiny_server


def run_counted(counts: dict[str, int], **kwargs: Any) -> LoadResult:
    async def scenario() -> LoadResult:
        async with tiny_server(counting_handler(counts)) as (url, _):
            return await run_load(url, ["/a", "/fail"], progress=False, **kwargs)

    return asyncio.run(scenario())


def test_the_count_is_exact_errors_included_and_warm_up_excluded() -> None:
    counts: dict[str, int] = {}
    result = run_counted(counts, vus=5, requests=333, warmup=0.1)
    assert result.overall.count == 333  # answered and failed alike
    assert result.endpoints["/fail"].errors == result.endpoints["/fail"].count > 0
    served = sum(counts.values()) - 1  # the pre-flight request is not part of the run
    assert served > 333  # the warm-up's requests reached the server but are not counted
    assert result.mode == "closed" and not result.warnings
    assert result.rps == pytest.approx(333 / result.duration)


def test_without_warm_up_the_server_sees_exactly_the_count() -> None:
    counts: dict[str, int] = {}
    result = run_counted(counts, vus=3, requests=50, warmup=0.0)
    assert result.overall.count == 50
    assert sum(counts.values()) - 1 == 50


def test_a_time_limit_ends_the_run_first_and_says_so() -> None:
    result = run_counted({}, vus=1, requests=1_000_000, duration=0.3, warmup=0.0)
    assert 0 < result.overall.count < 1_000_000
    assert any("after" in w and "of 1,000,000 requests" in w for w in result.warnings)


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        ({"requests": 0}, "between 1"),
        ({"requests": 2.5}, "whole number"),
        ({"requests": True}, "whole number"),
        ({"requests": 10, "rate": 50.0}, "closed loop"),
    ],
)
def test_bad_counts_are_load_errors(kwargs: dict[str, Any], says: str) -> None:
    with pytest.raises(LoadError, match=says):
        asyncio.run(run_load("http://127.0.0.1:9", ["/"], progress=False, **kwargs))


def test_the_cli_refuses_a_request_count_before_any_load(tmp_path: Any) -> None:
    import subprocess
    import sys

    for extra, says in [
        (["--requests", "0"], "between 1"),
        (["--requests", "5", "--rate", "10"], "closed loop"),
        (["--requests", "5", "--once"], "not with"),
    ]:
        done = subprocess.run(
            [sys.executable, "-m", "labkit", "loadtest", "http://127.0.0.1:9/", *extra],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode != 0
        assert says in done.stderr and "Traceback" not in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
