"""What runs beside the load: progress, the generator's own CPU and loop lag, the server's
resource use, and the warnings when the generator rather than the server was the limit."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import psutil

from labkit.load.client import Run
from labkit.load.result import LoadResult


async def monitor_run(
    run: Run, server: Any, bar: Any, samples: dict[str, list[float]], interval: float = 0.5
) -> None:
    """Progress bar, generator CPU and loop lag, and the server's resource use."""
    me = psutil.Process()
    me.cpu_percent(None)
    next_server_sample = 0.0
    while not run.stop.is_set():
        before = time.perf_counter()
        await asyncio.sleep(interval)
        samples["generator_lag"].append(time.perf_counter() - before - interval)
        now = run.clock()
        if now >= run.record_from:
            samples["generator_cpu"].append(me.cpu_percent(None))
        if server is not None and hasattr(server, "stats") and now >= next_server_sample:
            next_server_sample = now + 1.0
            try:
                stats = await asyncio.to_thread(server.stats)
            except Exception:  # the server may be gone; the run itself reports that
                stats = None
            if stats is not None and now >= run.record_from:
                samples["server_cpu"].append(stats.cpu_percent)
                samples["server_rss"].append(stats.rss_bytes)
                if stats.loop_lag_ms is not None:
                    samples["server_lag"].append(stats.loop_lag_ms)
        if bar is not None:  # seconds, or requests sent when the run counts them
            bar.n = (
                round(min(now, run.stop_at) - run.began, 1)
                if run.requests_left is None
                else bar.total - run.requests_left
            )
            bar.set_postfix(requests=run.completed, errors=sum(run.errors.values()), refresh=False)
            bar.refresh()


def mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def saturation_warnings(result: LoadResult, samples: dict[str, list[float]]) -> list[str]:
    """Say when the numbers may describe the load generator rather than the server."""
    warnings = []
    cpu = mean(samples["generator_cpu"])
    if cpu is not None and cpu >= 90:
        warnings.append(
            f"the load generator used {cpu:.0f}% of a core: it may be the bottleneck "
            "(fewer VUs, or run it in its own process)"
        )
    lag = max(samples["generator_lag"], default=0.0)
    if lag > 0.05:
        warnings.append(f"the load generator's event loop lagged {lag * 1000:.0f} ms")
    sent = result.overall.count + result.dropped
    if result.mode == "open" and sent and (result.late + result.dropped) / sent > 0.05:
        warnings.append(
            f"{result.late} late and {result.dropped} dropped of {sent} scheduled requests: "
            "the offered rate was not achieved (the server, or the generator, is saturated)"
        )
    return warnings
