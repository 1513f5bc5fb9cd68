"""The optimisation loop, end to end: baseline, one optimisation at a time, report."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from labkit.app.toggles import OPTIMIZATIONS
from labkit.errors import LoadError
from labkit.load.endpoints import CORE_ENDPOINTS, DEEP_PAGE, endpoints_for, stable_names
from labkit.load.result import LoadResult
from labkit.load.runner import run_load
from labkit.report.builder import Report, build_report

TARGETS: Final[dict[str, tuple[str, ...]]] = {
    "algorithms": ("eager_loading", "indexes", "keyset"),
    "api": ("eager_loading", "indexes", "keyset", "fast_json", "compression", "streaming"),
    "caching": ("cache", "dedupe"),
    "concurrency": ("dedupe", "streaming", "rate_limit"),
    "all": OPTIMIZATIONS,
}
# Every endpoint but the rate-limited search, whose 429s would read as errors; add it with
# endpoints=[...] to see what the limiter does to a single heavy client. The posts page is
# requested ``depth`` posts in (see labkit.load.endpoints): on a first page keyset pagination
# has nothing to save.
ENDPOINTS: Final = (*CORE_ENDPOINTS, "/api/export/users.csv")


@dataclass
class OptimizationRun:
    baseline: LoadResult
    steps: list[tuple[str, LoadResult]] = field(default_factory=list)
    report: Report | None = None

    @property
    def after(self) -> LoadResult:
        return self.steps[-1][1] if self.steps else self.baseline

    def save_results(self, directory: str | Path) -> list[Path]:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        paths = [directory / "baseline.json"]
        self.baseline.to_json(paths[0])
        for index, (name, result) in enumerate(self.steps, start=1):
            path = directory / f"step{index:02d}_{name}.json"
            result.to_json(path)
            paths.append(path)
        return paths


async def optimize(
    target: str = "all",
    endpoints: Sequence[str] | None = None,
    *,
    profile: str = "low",
    vus: int | None = None,
    duration: float | None = None,
    warmup: float = 1.0,
    priority: str = "high",
    workers: int = 1,
    dataset: str | Path | None = None,
    latency_ms: float = 0.0,
    depth: int | None = DEEP_PAGE,
    progress: bool = True,
    say: Callable[[str], None] = print,
) -> OptimizationRun:
    """Measure the baseline, then add the target's optimisations one at a time (cumulative),
    measuring each on a fresh server, and build the report.

    Each posts page in ``endpoints`` (one without a cursor or offset) is sent with the cursor
    that server hands a client ``depth`` posts in; ``depth=None`` sends the paths as given.
    Results carry stable endpoint names (``… (deep page)``) so the steps compare.
    """
    from labkit.app.server import LabServer

    if target not in TARGETS:
        raise LoadError(f"unknown target {target!r}: choose {', '.join(TARGETS)}")
    paths = list(endpoints or ENDPOINTS)
    enabled: list[str] = []
    run: OptimizationRun | None = None
    for name in ("baseline", *TARGETS[target]):
        if name != "baseline":
            enabled.append(name)
        with LabServer(
            optimize=enabled or "none", workers=workers, dataset=dataset, latency_ms=latency_ms
        ) as server:
            # urllib in a thread: the cursor request must not block this event loop
            server_paths = await asyncio.to_thread(endpoints_for, server, paths, depth=depth)
            result = await run_load(
                server,
                server_paths,
                profile=profile,
                vus=vus,
                duration=duration,
                warmup=warmup,
                progress=progress,
                label=name,
            )
        result = stable_names(result)
        say(result.headline())
        if run is None:
            run = OptimizationRun(baseline=result)
        else:
            run.steps.append((f"+{name}", result))
    assert run is not None
    run.report = build_report(run.baseline, run.after, steps=run.steps, priority=priority)
    return run
