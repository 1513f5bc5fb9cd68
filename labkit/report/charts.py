"""The report's charts: latency CDF, percentiles before and after, throughput per step."""

from __future__ import annotations

from collections.abc import Sequence

from labkit.load.result import LoadResult
from labkit.report.blocks import Figure, figure_png
from labkit.report.formatting import ms, rps

PERCENTILES = ("p50_ms", "p95_ms", "p99_ms")


def charts(
    baseline: LoadResult, after: LoadResult, steps: Sequence[tuple[str, LoadResult]]
) -> list[Figure]:
    import matplotlib.pyplot as plt

    from labkit.plots import before_after_bars, latency_cdf

    figures = []
    basis = f"{_basis(baseline)} and {_basis(after)}"
    fig, ax = plt.subplots(figsize=(7, 3.5))
    latency_cdf({"baseline": baseline, "after": after}, ax=ax)
    alt = (
        "Line chart of the share of requests answered within each latency, baseline and after: "
        f"{_percentiles(baseline, after)}"
    )
    figures.append(
        Figure("latency_cdf.png", figure_png(fig), f"Latency CDF, baseline vs after ({basis})", alt)
    )
    fig, ax = plt.subplots(figsize=(6, 3.5))
    before_after_bars(
        {n: baseline.figure(n) for n in PERCENTILES},
        {n: after.figure(n) for n in PERCENTILES},
        ax=ax,
        labels=("baseline", "after"),
        ylabel="ms",
        title="Latency percentiles",
    )
    alt = f"Bar chart of latency percentiles, baseline and after: {_percentiles(baseline, after)}"
    figures.append(
        Figure("percentiles.png", figure_png(fig), f"p50/p95/p99 before and after ({basis})", alt)
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
                "Bar chart of throughput as optimisations are added: "
                + ", ".join(
                    f"{label} {rps(value)}" for label, value in zip(labels, values, strict=True)
                ),
            )
        )
    return figures


def _percentiles(baseline: LoadResult, after: LoadResult) -> str:
    """``p50 26.3 ms → 5.2 ms, p95 …``: the figures a latency chart draws."""
    return ", ".join(
        f"{name.removesuffix('_ms')} {ms(baseline.figure(name))} → {ms(after.figure(name))}"
        for name in PERCENTILES
    )


def _basis(result: LoadResult) -> str:
    runs = result.environment.get("runs", "1")
    return f"{runs} run(s), {result.overall.count:,} requests"
