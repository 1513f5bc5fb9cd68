"""``optimize``: the optimisation loop on live lab servers — the baseline, then each
optimisation of a target added one at a time, every configuration repeated and interleaved
with a noise floor (``labkit.load.steps``).

``labkit optimize`` and the capstone notebook both measure through it; what they measure is
then rendered by ``labkit.report.build_report``. Importing this module is light (the command
line lists ``TARGETS``): the load generator loads when a run starts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Final

from labkit.app.toggles import OPTIMIZATIONS, Toggles
from labkit.errors import LoadError
from labkit.load.endpoints import CORE_ENDPOINTS, DEEP_PAGE
from labkit.load.plan import choose_shape

if TYPE_CHECKING:  # pragma: no cover
    from labkit.load.interleaved import InterleavedComparison

TARGETS: Final[dict[str, tuple[str, ...]]] = {
    "algorithms": ("eager_loading", "indexes", "keyset"),
    "api": ("eager_loading", "indexes", "keyset", "fast_json", "compression", "streaming"),
    "caching": ("cache", "dedupe"),
    "concurrency": ("dedupe", "streaming", "rate_limit"),
    "all": OPTIMIZATIONS,
}
"""``labkit optimize --target``: the optimisations each target switches on, in order."""

# Every endpoint but the rate-limited search, whose 429s would read as errors; add it with
# endpoints=[...] to see what the limiter does to a single heavy client. The posts page is
# requested ``depth`` posts in (see labkit.load.endpoints): on a first page keyset pagination
# has nothing to save.
ENDPOINTS: Final = (*CORE_ENDPOINTS, "/api/export/users.csv")


def steps_for(target: str | Sequence[str]) -> tuple[str, ...]:
    """The optimisations to add in order: a target's (``TARGETS``), or the names themselves."""
    if isinstance(target, str):
        if target not in TARGETS:
            raise LoadError(f"unknown target {target!r}: choose {', '.join(TARGETS)}")
        return TARGETS[target]
    steps = tuple(target)
    Toggles.parse(steps)  # a name that is no optimisation is told so, with the choices
    if not steps or len(set(steps)) != len(steps) or {"all", "none"} & set(steps):
        raise LoadError(f"give each optimisation once, in the order to add them; got {list(steps)}")
    return steps


async def optimize(
    target: str | Sequence[str] = "all",
    endpoints: Sequence[str] | None = None,
    *,
    profile: str = "low",
    vus: int | None = None,
    duration: float | None = None,
    repeats: int = 5,
    warmup: float = 0.2,
    prime: float = 1.0,
    workers: int = 1,
    dataset: str | Path | None = None,
    latency_ms: float = 0.0,
    depth: int | None = DEEP_PAGE,
    progress: bool = True,
    say: Callable[[str], None] | None = None,
) -> InterleavedComparison:
    """Measure the baseline, then add the target's optimisations one at a time (cumulative),
    each ``repeats`` times interleaved with the others on servers kept up throughout, with
    the baseline against itself as the noise floor.

    ``target`` is a name from ``TARGETS`` or the optimisations themselves, in order. The
    profile's duration is split over the repeats (``low``: 5 runs of 2 s per step);
    ``duration`` sets the seconds of one run, ``prime`` the unrecorded run that warms each
    server first. Each posts page in ``endpoints`` (default ``ENDPOINTS``; one without a
    cursor or offset) is sent with the cursor that server hands a client ``depth`` posts in;
    ``depth=None`` sends the paths as given. Results carry stable endpoint names; ``say`` is
    told of each run as it finishes. ``comparison.baseline``, ``.after`` and ``.steps`` are
    the shapes ``labkit.report.build_report`` takes.
    """
    order = steps_for(target)
    if repeats < 2:
        raise LoadError("repeats must be at least 2: one run per step gives no interval")
    profile_vus, profile_seconds = choose_shape(profile, vus, None, None)
    per_run = duration if duration is not None else max(1.0, profile_seconds / repeats)
    from labkit.load.steps import measure_steps

    return await measure_steps(
        order,
        list(endpoints or ENDPOINTS),
        repeats=repeats,
        vus=profile_vus,
        duration=per_run,
        warmup=warmup,
        prime=prime,
        workers=workers,
        dataset=dataset,
        latency_ms=latency_ms,
        depth=depth,
        progress=progress,
        say=say,
    )


def save_results(comparison: InterleavedComparison, directory: str | Path) -> list[Path]:
    """Each configuration's merged result (every run's samples) as JSON, in run order."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = [directory / "baseline.json"]
    comparison.baseline.to_json(paths[0])
    for index, (name, result) in enumerate(comparison.steps, start=1):
        path = directory / f"step{index:02d}_{name}.json"
        result.to_json(path)
        paths.append(path)
    return paths


__all__ = ["ENDPOINTS", "TARGETS", "optimize", "save_results", "steps_for"]
