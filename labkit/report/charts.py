"""The report's charts: latency CDF, percentiles before and after, throughput per step."""

from __future__ import annotations

from collections.abc import Sequence

from labkit.load.result import LoadResult
from labkit.report.blocks import Figure, figure_png


def charts(
    baseline: LoadResult, after: LoadResult, steps: Sequence[tuple[str, LoadResult]]
) -> list[Figure]:
    import matplotlib.pyplot as plt

    from labkit.plots import before_after_bars, latency_cdf

    figures = []
    basis = f"{_basis(baseline)} and {_basis(after)}"
    fig, ax = plt.subplots(figsize=(7, 3.5))
    latency_cdf({"baseline": baseline, "after": after}, ax=ax)
    figures.append(
        Figure("latency_cdf.png", figure_png(fig), f"Latency CDF, baseline vs after ({basis})")
    )
    fig, ax = plt.subplots(figsize=(6, 3.5))
    names = ("p50_ms", "p95_ms", "p99_ms")
    before_after_bars(
        {n: baseline.figure(n) for n in names},
        {n: after.figure(n) for n in names},
        ax=ax,
        labels=("baseline", "after"),
        ylabel="ms",
        title="Latency percentiles",
    )
    figures.append(
        Figure("percentiles.png", figure_png(fig), f"p50/p95/p99 before and after ({basis})")
    )
    if steps:
        fig, ax = plt.subplots(figsize=(7, 3.5))
        labels = ["baseline", *(name for name, _ in steps)]
        values = [baseline.rps, *(step.rps for _, step in steps)]
        ax.bar(labels, values)
        ax.set_ylabel("req/s")
        ax.set_title("Throughput as optimisations are added")
        ax.tick_params(axis="x", rotation=30)
        runs = baseline.environment.get("runs", "1")
        figures.append(
            Figure(
                "throughput_steps.png",
                figure_png(fig),
                f"Throughput per step ({runs} run(s) per step, every request of them merged)",
            )
        )
    return figures


def _basis(result: LoadResult) -> str:
    runs = result.environment.get("runs", "1")
    return f"{runs} run(s), {result.overall.count:,} requests"
