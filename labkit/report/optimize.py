"""The optimisation loop, end to end: baseline, one optimisation at a time (repeated and
interleaved, with a noise floor), report."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from labkit.errors import LoadError
from labkit.load.endpoints import CORE_ENDPOINTS, DEEP_PAGE
from labkit.load.interleaved import InterleavedComparison
from labkit.load.plan import choose_shape
from labkit.load.result import LoadResult
from labkit.load.steps import measure_steps
from labkit.report.builder import build_report
from labkit.report.choices import TARGETS
from labkit.report.document import Report

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
    comparison: InterleavedComparison | None = None

    @property
    def after(self) -> LoadResult:
        return self.steps[-1][1] if self.steps else self.baseline

    def save_results(self, directory: str | Path) -> list[Path]:
        """Each configuration's merged result (every run's samples) as JSON."""
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
    repeats: int = 5,
    warmup: float = 0.2,
    priority: str = "high",
    workers: int = 1,
    dataset: str | Path | None = None,
    latency_ms: float = 0.0,
    depth: int | None = DEEP_PAGE,
    progress: bool = True,
    say: Callable[[str], None] = print,
) -> OptimizationRun:
    """Measure the baseline, then add the target's optimisations one at a time (cumulative),
    each ``repeats`` times interleaved with the others on servers kept up throughout, with
    the baseline against itself as the noise floor, and build the report.

    The profile's duration is split over the repeats (``low``: 5 runs of 2 s per step);
    ``duration`` sets the seconds of one run. Each posts page in ``endpoints`` (one without a
    cursor or offset) is sent with the cursor that server hands a client ``depth`` posts in;
    ``depth=None`` sends the paths as given. Results carry stable endpoint names.
    """
    if target not in TARGETS:
        raise LoadError(f"unknown target {target!r}: choose {', '.join(TARGETS)}")
    if repeats < 2:
        raise LoadError("repeats must be at least 2: one run per step gives no interval")
    profile_vus, profile_seconds = choose_shape(profile, vus, None, None)
    per_run = duration if duration is not None else max(1.0, profile_seconds / repeats)
    comparison = await measure_steps(
        TARGETS[target],
        list(endpoints or ENDPOINTS),
        repeats=repeats,
        vus=profile_vus,
        duration=per_run,
        warmup=warmup,
        prime=1.0,
        workers=workers,
        dataset=dataset,
        latency_ms=latency_ms,
        depth=depth,
        progress=progress,
    )
    say(comparison.summary())
    run = OptimizationRun(
        baseline=comparison.baseline, steps=comparison.steps, comparison=comparison
    )
    run.report = build_report(
        run.baseline, run.after, steps=run.steps, priority=priority, comparison=comparison
    )
    return run
