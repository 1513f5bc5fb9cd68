"""Latency recording: HdrHistogram (microseconds, 3 significant digits) plus exact extremes."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from hdrh.histogram import HdrHistogram

LOWEST_US = 1
HIGHEST_US = 600_000_000  # ten minutes: far beyond any request timeout
DIGITS = 3  # values within 0.1 %: percentiles as good as sorting every sample
PERCENTILES = (50.0, 95.0, 99.0, 99.9)


@dataclass(frozen=True)
class Summary:
    """Percentiles in milliseconds of one latency distribution."""

    count: int
    p50: float
    p95: float
    p99: float
    p999: float
    max: float
    mean: float


PENDING_LIMIT = 65_536  # values buffered before they are folded into the histogram


class LatencyRecorder:
    """Records latencies in seconds; answers percentiles in milliseconds.

    ``record`` only appends to a list: HdrHistogram's ``record_value`` is pure Python, and
    during a load test every microsecond the generator spends is taken from the server on
    the same machine. The values are folded in (equal values counted once) when the
    histogram is read, or every ``PENDING_LIMIT`` values to bound memory.
    """

    def __init__(self) -> None:
        self._histogram = HdrHistogram(LOWEST_US, HIGHEST_US, DIGITS)
        self._pending: list[float] = []
        self.max_seconds = 0.0

    def record(self, seconds: float) -> None:
        self._pending.append(seconds)
        if seconds > self.max_seconds:
            self.max_seconds = seconds
        if len(self._pending) >= PENDING_LIMIT:
            self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        counts = Counter(
            max(LOWEST_US, min(HIGHEST_US, round(seconds * 1e6))) for seconds in self._pending
        )
        self._pending = []
        for micros, count in counts.items():
            self._histogram.record_value(micros, count)

    @property
    def histogram(self) -> HdrHistogram:
        self._flush()
        return self._histogram

    @property
    def count(self) -> int:
        return int(self.histogram.get_total_count())

    def summary(self) -> Summary:
        if self.count == 0:
            return Summary(0, *(float("nan"),) * 6)
        # one pass over the buckets for all four percentiles
        values = self.histogram.get_percentile_to_value_dict(list(PERCENTILES))
        p50, p95, p99, p999 = (values[p] / 1000 for p in PERCENTILES)
        return Summary(
            count=self.count,
            p50=p50,
            p95=p95,
            p99=p99,
            p999=p999,
            max=self.max_seconds * 1000,
            mean=self._mean_us() / 1000,
        )

    def _mean_us(self) -> float:
        """HdrHistogram's mean (median-equivalent value of each bucket, weighted by count).

        hdrh's own ``get_mean_value`` walks every bucket up to ten minutes in pure Python
        (~0.1 s per call, 5 calls per result); only the few non-empty buckets matter.
        """
        import numpy as np

        histogram = self.histogram
        counts = np.ctypeslib.as_array(histogram.counts)[: histogram.counts_len]
        filled = np.flatnonzero(counts)
        if not len(filled):
            return 0.0
        total = 0.0
        for index in filled.tolist():
            value = histogram.get_value_from_index(index)
            total += int(counts[index]) * histogram._hdr_median_equiv_value(value)
        return float(total) / int(histogram.get_total_count())

    def values_ms(self) -> list[tuple[float, int]]:
        """(latency ms, how many) for every recorded bucket, for plots."""
        return [
            (item.value_iterated_to / 1000, item.count_at_value_iterated_to)
            for item in self.histogram.get_recorded_iterator()
        ]

    def encode(self) -> str:
        return str(self.histogram.encode().decode("ascii"))

    @classmethod
    def decode(cls, text: str, max_seconds: float) -> LatencyRecorder:
        recorder = cls()
        if text:
            recorder.histogram.add(HdrHistogram.decode(text.encode("ascii")))
        recorder.max_seconds = max_seconds
        return recorder

    @classmethod
    def merged(cls, parts: Iterable[LatencyRecorder]) -> LatencyRecorder:
        total = cls()
        for part in parts:
            total.histogram.add(part.histogram)
            total.max_seconds = max(total.max_seconds, part.max_seconds)
        return total
