"""Plots for load tests and comparisons (matplotlib, imported on first use).

Each function takes what the measurement returned and an optional ``ax``, and returns the
axes, so notebooks can combine them and tests can read back what was drawn. The latency plots
read a load result through the attributes below (``LoadResult`` has them), so this module
needs nothing from ``labkit.load``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from matplotlib.axes import Axes


class Latencies(Protocol):
    """Recorded latencies as (ms, how many) points (``LatencyRecorder``)."""

    def values_ms(self) -> list[tuple[float, int]]: ...


class EndpointLatencies(Protocol):
    """One endpoint's (or all endpoints') recordings (``EndpointLoad``)."""

    @property
    def response(self) -> Latencies: ...


class LoadLatencies(Protocol):
    """What the latency plots read of one load test (``LoadResult``)."""

    @property
    def endpoints(self) -> Mapping[str, EndpointLatencies]: ...

    @property
    def overall(self) -> EndpointLatencies: ...


def _axes(ax: Axes | None, size: tuple[float, float] = (7, 3.5)) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, new_ax = plt.subplots(figsize=size)
    return new_ax


def _as_results(
    results: LoadLatencies | Mapping[str, LoadLatencies],
) -> dict[str, EndpointLatencies]:
    """{label: recordings}: one line per endpoint of one result, or one per result."""
    if isinstance(results, Mapping):
        return {label: result.overall for label, result in results.items()}
    loads = dict(results.endpoints)
    if len(loads) > 1:
        loads["overall"] = results.overall
    return loads


def _latency_axes(ax: Axes, ylabel: str, title: str, *, log: bool) -> Axes:
    """Latency in ms along x (log-scaled when ``log``), one legend entry per line."""
    if log:
        ax.set_xscale("log")
    ax.set_xlabel("latency (ms)")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize="small")
    return ax


def latency_cdf(
    results: LoadLatencies | Mapping[str, LoadLatencies],
    ax: Axes | None = None,
    *,
    log: bool = True,
) -> Axes:
    """Share of requests answered within x ms, per endpoint (or per result, to compare runs)."""
    ax = _axes(ax)
    for label, load in _as_results(results).items():
        points = load.response.values_ms()
        if not points:
            continue
        total = sum(count for _, count in points)
        xs, ys, seen = [], [], 0
        for value, count in points:
            seen += count
            xs.append(value)
            ys.append(100 * seen / total)
        ax.step(xs, ys, where="post", label=label)
    for level in (50, 95, 99):
        ax.axhline(level, color="grey", linewidth=0.5, linestyle=":")
    return _latency_axes(ax, "% of requests within", "Latency distribution (CDF)", log=log)


def latency_histogram(
    results: LoadLatencies | Mapping[str, LoadLatencies],
    ax: Axes | None = None,
    *,
    bins: int = 40,
) -> Axes:
    """How many requests took how long (log-spaced bins), per endpoint or per result."""
    import numpy as np

    ax = _axes(ax)
    loads = _as_results(results)
    values = [v for load in loads.values() for v, _ in load.response.values_ms()]
    if not values:
        return ax
    edges = list(np.geomspace(max(min(values), 0.01), max(values) * 1.01, bins))
    for label, load in loads.items():
        points = load.response.values_ms()
        if points:
            xs, weights = zip(*points, strict=True)
            ax.hist(xs, bins=edges, weights=weights, histtype="step", label=label, linewidth=1.5)
    return _latency_axes(ax, "requests", "Latency histogram", log=True)


def before_after_bars(
    before: Mapping[str, float],
    after: Mapping[str, float],
    ax: Axes | None = None,
    *,
    labels: tuple[str, str] = ("before", "after"),
    ylabel: str = "",
    title: str = "Before and after",
) -> Axes:
    """Paired bars for each metric (e.g. p50/p95/p99), with the after/before ratio on top."""
    import numpy as np

    ax = _axes(ax)
    names = [name for name in before if name in after]
    x = np.arange(len(names))
    width = 0.38
    ax.bar(x - width / 2, [before[n] for n in names], width, label=labels[0])
    bars = ax.bar(x + width / 2, [after[n] for n in names], width, label=labels[1])
    for bar, name in zip(bars, names, strict=True):
        if before[name]:
            ratio = after[name] / before[name]
            ax.annotate(f"×{ratio:.2g}", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                        ha="center", va="bottom", fontsize="small")  # fmt: skip
    ax.set_xticks(x, names)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize="small")
    return ax


def scaling_curve(
    data: pd.DataFrame | Sequence[tuple[float, float]],
    *,
    x: str = "x",
    y: str = "y",
    ax: Axes | None = None,
    bound: float | None = None,
    title: str = "Scaling",
    logx: bool = False,
) -> Axes:
    """y against x (e.g. p99 against offered rate, RPS against workers), with a bound line."""
    import pandas as pd

    frame = data if isinstance(data, pd.DataFrame) else pd.DataFrame(list(data), columns=[x, y])
    ax = _axes(ax)
    ax.plot(frame[x], frame[y], marker="o")
    if bound is not None:
        ax.axhline(bound, color="red", linestyle="--", linewidth=1, label=f"bound {bound:g}")
        ax.legend(fontsize="small")
    if logx:
        ax.set_xscale("log")
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.set_title(title)
    return ax
