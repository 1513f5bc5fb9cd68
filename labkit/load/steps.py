"""``measure_steps``: cumulative optimisation steps on live lab servers, compared by repeated,
interleaved runs (see ``labkit.load.interleaved``).

One server per configuration (and a second baseline server for the noise floor) stays up for
the whole comparison, so a run costs only its load, not a server start; each server is primed
once with an unrecorded run so the first measured round does not pay for cold caches.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from labkit.load.endpoints import DEEP_PAGE, endpoints_for, stable_names
from labkit.load.interleaved import NOISE_RUN, InterleavedComparison, compare_steps
from labkit.load.result import LoadResult
from labkit.load.runner import run_load


def cumulative(order: Sequence[str]) -> list[tuple[str, list[str]]]:
    """``[("baseline", []), ("+a", ["a"]), ("+b", ["a", "b"]), ...]``."""
    configs: list[tuple[str, list[str]]] = [("baseline", [])]
    for index, name in enumerate(order):
        configs.append((f"+{name}", list(order[: index + 1])))
    return configs


async def measure_steps(
    order: Sequence[str],
    endpoints: Sequence[str],
    *,
    repeats: int = 5,
    vus: int = 8,
    duration: float = 0.5,
    warmup: float = 0.1,
    prime: float = 0.3,
    workers: int = 1,
    dataset: str | Path | None = None,
    latency_ms: float = 0.0,
    depth: int | None = DEEP_PAGE,
    progress: bool = True,
    say: Callable[[str], None] | None = None,
    seed: int = 0,
) -> InterleavedComparison:
    """The baseline, then each optimisation of ``order`` added to the ones before, each run
    ``repeats`` times (``duration`` s each), interleaved, on servers kept up throughout."""
    from labkit.app.server import LabServer

    configs = cumulative(order)
    servers: dict[str, Any] = {
        name: LabServer(
            optimize=enabled or "none", workers=workers, dataset=dataset, latency_ms=latency_ms
        )
        for name, enabled in configs
    }
    servers[NOISE_RUN] = LabServer(
        optimize="none", workers=workers, dataset=dataset, latency_ms=latency_ms
    )
    bar = None
    try:
        # Start them side by side: each start is mostly waiting for a process to come up.
        await asyncio.gather(*(asyncio.to_thread(s.start) for s in servers.values()))
        paths = {
            name: await asyncio.to_thread(endpoints_for, server, endpoints, depth=depth)
            for name, server in servers.items()
        }

        async def one_run(name: str, seconds: float, lead: float) -> LoadResult:
            result = await run_load(
                servers[name],
                paths[name],
                vus=vus,
                duration=seconds,
                warmup=lead,
                progress=False,
                label=name,
            )
            return stable_names(result)

        for name in servers:
            if prime > 0:
                await one_run(name, prime, 0.0)
        total = (len(configs) + 1) * repeats
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=total, unit="run", desc="steps", leave=True)

        def on_run(repetition: int, name: str, result: LoadResult) -> None:
            if bar is not None:
                bar.update(1)
            if say is not None:
                say(f"  {repetition + 1}/{repeats} {result.headline()}")

        async def measure(name: str, repetition: int) -> LoadResult:
            if bar is not None:  # what runs now: the step and its repetition
                bar.set_description(f"{name} · repetition {repetition + 1}/{repeats}")
            return await one_run(name, duration, warmup)

        return await compare_steps(
            measure, [name for name, _ in configs], repeats=repeats, seed=seed, on_run=on_run
        )
    finally:
        if bar is not None:
            bar.close()
        await asyncio.gather(
            *(asyncio.to_thread(s.stop) for s in servers.values()), return_exceptions=True
        )
