"""Measurements and plots the streaming notebook shows: memory vs rows, compression levels,
serialisers. Every figure is measured when called; nothing here is typed in."""

from __future__ import annotations

import gzip
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from labkit.db import connect
from labkit.lessons.n05_streaming.tables import RowDigest, make_users_db, peak_bytes
from labkit.timing import bench

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from matplotlib.axes import Axes

Reader = Callable[[Any, Callable[[Any], Any], int], Any]


async def memory_by_rows(
    readers: Mapping[str, Reader], sizes: Sequence[int], folder: Path, *, seed: int = 42,
    batch_size: int = 100,
) -> pd.DataFrame:  # fmt: skip
    """Peak traced memory (KiB) of each reader on users tables of each size: one row per pair."""
    import pandas as pd

    rows = []
    for n in sizes:
        path = make_users_db(folder / f"users-{n}.sqlite", n, seed)
        for label, reader in readers.items():
            async with connect(path) as db:
                sink = RowDigest()
                _, peak = await peak_bytes(partial(reader, db, sink, batch_size))
            rows.append({"rows": n, "reader": label, "peak_kib": peak / 1024, "sent": sink.count})
    return pd.DataFrame(rows)


def plot_memory(frame: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Peak memory against table size, one line per reader."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3))
    for label, part in frame.groupby("reader", sort=False):
        ax.plot(part["rows"], part["peak_kib"], marker="o", label=str(label))
    ax.set_xlabel("rows in the table")
    ax.set_ylabel("peak memory (KiB, tracemalloc)")
    ax.set_title("Load everything vs stream in batches")
    ax.legend(fontsize="small")
    return ax


def compression_levels(
    body: bytes,
    gzip_levels: Sequence[int] = (1, 3, 6, 9),
    brotli_qualities: Sequence[int] = (1, 4, 5, 6, 9, 11),
) -> pd.DataFrame:
    """Size saved and time to compress ``body`` for each gzip level and brotli quality."""
    import brotli
    import pandas as pd

    def gzip_at(level: int) -> Callable[[bytes], bytes]:
        return lambda b: gzip.compress(b, compresslevel=level, mtime=0)

    def brotli_at(quality: int) -> Callable[[bytes], bytes]:
        return lambda b: bytes(brotli.compress(b, quality=quality))

    runs = [("gzip", level, gzip_at(level)) for level in gzip_levels]
    runs += [("brotli", quality, brotli_at(quality)) for quality in brotli_qualities]
    rows = []
    for codec, level, compress in runs:
        size = len(compress(body))
        timing = bench(compress, body, repeat=3, min_time=0.002, warmup=0)
        rows.append({
            "codec": codec, "level": level, "bytes": size,
            "smaller_by_pct": 100 * (1 - size / len(body)),
            "ms": timing.median * 1000,
            "mb_per_s": len(body) / timing.median / 1e6,
        })  # fmt: skip
    return pd.DataFrame(rows)


def plot_compression(frame: pd.DataFrame) -> Any:
    """Two panels: % smaller and milliseconds, per codec and level."""
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3))
    for codec, part in frame.groupby("codec", sort=False):
        left.plot(part["level"], part["smaller_by_pct"], marker="o", label=str(codec))
        right.plot(part["level"], part["ms"], marker="o", label=str(codec))
    left.set_xlabel("level / quality")
    left.set_ylabel("% smaller than the body")
    left.set_title("Ratio")
    right.set_xlabel("level / quality")
    right.set_ylabel("ms to compress")
    right.set_yscale("log")
    right.set_title("CPU")
    left.legend(fontsize="small")
    fig.tight_layout()
    return fig


def plot_serialisers(medians_ms: Mapping[str, float], ax: Axes | None = None) -> Axes:
    """Bars of the median encode time per serialiser, with the speed-up over the first."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3))
    names = list(medians_ms)
    values = [medians_ms[n] for n in names]
    bars = ax.bar(names, values, color=["#999", "#4c72b0", "#55a868", "#c44e52"][: len(names)])
    for bar, value in zip(bars, values, strict=True):
        ax.annotate(f"{values[0] / value:.1f}×", (bar.get_x() + bar.get_width() / 2, value),
                    ha="center", va="bottom", fontsize="small")  # fmt: skip
    ax.set_ylabel("ms per encode (median)")
    ax.set_title("Encoding the same rows")
    return ax
