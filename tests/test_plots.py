"""Plots draw what the results hold."""

from __future__ import annotations

from typing import Any

import matplotlib

matplotlib.use("Agg")

import pandas as pd

from labkit.load.result import EndpointLoad, LoadResult
from labkit.plots import before_after_bars, latency_cdf, latency_histogram, scaling_curve


def fake_result(latencies_ms: dict[str, list[float]]) -> LoadResult:
    endpoints = {}
    for name, values in latencies_ms.items():
        load = EndpointLoad()
        for v in values:
            load.response.record(v / 1000)
            load.ok += 1
        endpoints[name] = load
    return LoadResult(
        target="http://x", mode="closed", duration=1.0, warmup=0.0, endpoints=endpoints, vus=1
    )


def test_cdf_draws_one_line_per_endpoint_plus_overall_ending_at_100() -> None:
    ax: Any = latency_cdf(fake_result({"/a": [1, 2, 3], "/b": [10, 20]}))
    lines = [line for line in ax.get_lines() if line.get_label() in {"/a", "/b", "overall"}]
    assert sorted(line.get_label() for line in lines) == ["/a", "/b", "overall"]
    assert all(line.get_ydata()[-1] == 100 for line in lines)


def test_cdf_compares_results_by_label() -> None:
    ax: Any = latency_cdf({"before": fake_result({"/a": [50]}), "after": fake_result({"/a": [5]})})
    assert {line.get_label() for line in ax.get_lines()} >= {"before", "after"}


def test_histogram_counts_every_request() -> None:
    ax: Any = latency_histogram(fake_result({"/a": [1, 1, 2, 40]}))
    assert ax.get_xscale() == "log"
    assert [patch.get_label() for patch in ax.patches] == ["/a"]
    # the step outline's highest point is the tallest bin: the two 1 ms requests
    assert max(y for _, y in ax.patches[0].get_xy()) == 2


def test_before_after_bars_annotate_ratios() -> None:
    ax: Any = before_after_bars({"p50": 100.0, "p99": 400.0}, {"p50": 10.0, "p99": 100.0})
    assert [t.get_text() for t in ax.texts] == ["×0.1", "×0.25"]


def test_scaling_curve_with_bound() -> None:
    frame = pd.DataFrame({"offered_rps": [10, 20, 40], "p99_ms": [5, 8, 900]})
    ax: Any = scaling_curve(frame, x="offered_rps", y="p99_ms", bound=500)
    curve, bound = (list(line.get_ydata()) for line in ax.get_lines())
    assert curve == [5, 8, 900] and bound[0] == 500


def test_latency_plots_read_any_object_with_the_attributes_they_use() -> None:
    """The plots depend on what they read (endpoints, overall, response.values_ms()), not on
    labkit.load: any recording of that shape draws."""

    class Points:
        def __init__(self, points: list[tuple[float, int]]) -> None:
            self.points = points

        def values_ms(self) -> list[tuple[float, int]]:
            return self.points

    class Endpoint:
        def __init__(self, points: list[tuple[float, int]]) -> None:
            self.response = Points(points)

    class Recording:
        def __init__(self) -> None:
            self.endpoints = {"/a": Endpoint([(1.0, 3), (4.0, 1)])}
            self.overall = Endpoint([(1.0, 3), (4.0, 1)])

    ax: Any = latency_cdf(Recording())
    (line,) = [line for line in ax.get_lines() if line.get_label() == "/a"]
    assert list(line.get_xdata()) == [1.0, 4.0] and list(line.get_ydata()) == [75.0, 100.0]
    assert latency_histogram({"run": Recording()}).get_title() == "Latency histogram"
