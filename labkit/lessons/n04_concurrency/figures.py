"""Pictures for notebook 04: when each simulated call ran, and how a measure changes with a knob."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

Timeline = Sequence[tuple[str, float, float]]


def plot_timelines(timelines: dict[str, Timeline], *, title: str = "") -> Any:
    """One row of bars per call, one panel per variant: overlap (or its absence) at a glance."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(
        len(timelines), 1, figsize=(7, 1.1 + 0.9 * len(timelines)), sharex=True, squeeze=False
    )
    names = sorted({name for timeline in timelines.values() for name, _, _ in timeline})
    colours = {name: f"C{i}" for i, name in enumerate(names)}  # one colour per service
    longest = max(
        (max(e for _, _, e in t) - min(s for _, s, _ in t) for t in timelines.values() if t),
        default=0.0,
    )
    for ax, (label, timeline) in zip(axes[:, 0], timelines.items(), strict=True):
        origin = min((start for _, start, _ in timeline), default=0.0)
        for row, (name, start, end) in enumerate(sorted(timeline, key=lambda c: (c[1], c[0]))):
            ax.barh(
                row, 1000 * (end - start), left=1000 * (start - origin), height=0.6,
                color=colours[name],
            )  # fmt: skip
            ax.text(1000 * (end - origin) + 2, row, name, va="center", fontsize=8)
        ax.set_xlim(0, 1000 * longest * 1.3 + 1)
        ax.set_yticks([])
        ax.invert_yaxis()
        total = 1000 * (max((e for _, _, e in timeline), default=origin) - origin)
        ax.set_ylabel(f"{label}\n{total:.0f} ms", rotation=0, ha="right", va="center", fontsize=9)
    axes[-1, 0].set_xlabel("ms since the first call started")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_curve(xs: Sequence[float], ys: Sequence[float], *, xlabel: str, ylabel: str) -> Any:
    """A small line plot with the points marked."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3))
    ax.plot(list(xs), list(ys), marker="o")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
