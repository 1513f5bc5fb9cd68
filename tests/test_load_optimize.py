"""``labkit.load.optimization``: which steps a target adds, the checks made before any server
starts, saving the results, and (marked ``server``) a run on real lab servers."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from labkit.app.toggles import OPTIMIZATIONS
from labkit.errors import LabkitError, LoadError
from labkit.load.interleaved import compare_steps
from labkit.load.optimization import TARGETS, optimize, save_results, steps_for
from labkit.load.result import EndpointLoad, LoadResult


def test_targets_name_real_optimisations_and_steps_may_be_given_directly() -> None:
    assert TARGETS["all"] == OPTIMIZATIONS
    for steps in TARGETS.values():
        assert set(steps) <= set(OPTIMIZATIONS) and len(set(steps)) == len(steps)
    assert steps_for("caching") == ("cache", "dedupe")
    assert steps_for(["keyset", "cache"]) == ("keyset", "cache")  # the order given is kept


@pytest.mark.parametrize(
    ("target", "says"),
    [
        ("everything", "unknown target"),
        (["cache", "cache"], "each optimisation once"),
        ([], "each optimisation once"),
        (["all"], "each optimisation once"),
        (["cahce"], "unknown optimisation cahce"),
    ],
)
def test_bad_targets_are_refused_with_the_choices(target: object, says: str) -> None:
    with pytest.raises(LabkitError, match=says):
        steps_for(target)  # type: ignore[arg-type]


def test_bad_arguments_fail_before_any_server_starts() -> None:
    with pytest.raises(LoadError, match="at least 2"):
        asyncio.run(optimize("caching", repeats=1))
    with pytest.raises(LoadError, match="unknown load profile"):
        asyncio.run(optimize("caching", profile="extreme"))


def test_the_module_is_light_for_the_command_line() -> None:
    code = (
        "import sys, labkit.load.optimization; "
        "print(' '.join(m for m in ('aiohttp', 'pandas', 'fastapi') if m in sys.modules))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == ""


def _run(requests: int) -> LoadResult:
    load = EndpointLoad(ok=requests)
    for _ in range(requests):
        load.response.record(0.01)
    return LoadResult("http://h", "closed", 1.0, 0.0, {"/a": load}, vus=1)


def test_save_results_writes_every_configuration_in_run_order(tmp_path: Path) -> None:
    async def measure(name: str, repetition: int) -> LoadResult:
        return _run({"baseline": 10, "+cache": 20}.get(name, 11) + repetition)

    comparison = asyncio.run(compare_steps(measure, ["baseline", "+cache"], repeats=2))
    paths = save_results(comparison, tmp_path / "results")
    assert [p.name for p in paths] == ["baseline.json", "step01_+cache.json"]
    assert LoadResult.from_json(paths[1]).overall.count == 20 + 21  # both runs merged


@pytest.mark.server
def test_optimize_measures_the_deep_page_on_every_server(tmp_path: Path) -> None:
    from labkit.data import build

    dataset = build(size="tiny", seed=42, path=tmp_path / "tiny.sqlite").path
    lines: list[str] = []
    comparison = asyncio.run(
        optimize(
            "algorithms",
            ["/api/posts?limit=20", "/api/products/1"],
            vus=2,
            duration=0.3,
            repeats=2,
            warmup=0.1,
            prime=0.1,
            dataset=dataset,
            depth=400,
            progress=False,
            say=lines.append,
        )
    )
    deep = "/api/posts?limit=20 (deep page)"
    assert [name for name, _ in comparison.steps] == ["+eager_loading", "+indexes", "+keyset"]
    for result in [comparison.baseline, *(r for _, r in comparison.steps)]:
        assert list(result.endpoints) == [deep, "/api/products/1"]
        assert result.endpoints[deep].ok > 0 and result.endpoints[deep].errors == 0
    assert comparison.repeats == 2
    assert comparison.after.environment["optimize"] == "eager_loading,keyset,indexes"
    assert len(lines) == 5 * 2  # four configurations and the baseline again, twice each
