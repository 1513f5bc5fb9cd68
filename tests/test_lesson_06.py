"""Lesson 06 helpers: seeded fixtures, the reference answers, reading a report back, and (marked)
the live helpers against a real server."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import pytest

from labkit.errors import LoadError
from labkit.lessons.n06_capstone import alerts, impact, report, summary
from labkit.lessons.n06_capstone.alerts import alert_scenarios
from labkit.lessons.n06_capstone.breaking_point import (
    SECONDS,
    breaking_cases,
    breaking_rate_reference,
)
from labkit.lessons.n06_capstone.live import relabel, short_name
from labkit.lessons.n06_capstone.reading import first_number, first_table, report_text, sections
from labkit.lessons.n06_capstone.recorded_runs import (
    STEP_NAMES,
    optimisation_runs,
    result_from_samples,
)
from labkit.lessons.n06_capstone.summary import sample_sets
from labkit.load.breaking import crossed
from labkit.report import SECTIONS


def test_nearest_rank_on_known_values() -> None:
    values = [float(v) for v in range(1, 11)]
    assert summary.nearest_rank(values, 50) == 5.0
    assert summary.nearest_rank(values, 95) == 10.0
    assert summary.nearest_rank(values, 90) == 9.0
    assert summary.nearest_rank([7.0], 99) == 7.0


def test_summarise_counts_4xx_5xx_and_no_answer_as_errors() -> None:
    samples = [(10.0, "200"), (20.0, "201"), (30.0, "404"), (40.0, "503"), (50.0, "Timeout")]
    samples += [(60.0, "304"), (70.0, "204"), (80.0, "302")]
    figures = summary.summarise_reference(samples, 2.0)
    assert figures["requests"] == 8
    assert figures["rps"] == 4.0
    assert figures["error_rate"] == pytest.approx(3 / 8)
    assert figures["p50_ms"] == 40.0
    assert figures["p99_ms"] == 80.0


def test_sample_sets_separate_the_nearest_rank_from_round() -> None:
    """Some set has N/100 × n with a fraction below a half, where round() picks another rank."""
    for seed in (42, 7, 20_231):
        sizes = [len(samples) for samples, _ in sample_sets(seed)]
        assert any(
            math.ceil(p / 100 * n) != max(1, round(p / 100 * n)) for n in sizes for p in (50, 95)
        )
        assert len(sizes) != len(set(sizes))  # two sets of one length: memo by length fails


def test_sample_sets_are_seeded() -> None:
    assert sample_sets(42) == sample_sets(42)
    assert sample_sets(42) != sample_sets(20_231)
    sizes = [len(samples) for samples, _ in sample_sets(42)]
    assert sizes == [2000, 101, 20, 13, 101, 7, 1, 8]
    outcomes = {outcome for samples, _ in sample_sets(42) for _, outcome in samples}
    assert "200" in outcomes and "Timeout" in outcomes and any(o[0] in "45" for o in outcomes)
    assert {"201", "204", "304"} <= outcomes


def test_recorded_result_agrees_with_exact_percentiles() -> None:
    samples, duration = sample_sets(42)[0]
    result = result_from_samples({"/x": samples}, duration=duration, label="t")
    exact = summary.summarise_reference(samples, duration)
    for name in ("p50_ms", "p95_ms", "p99_ms"):
        assert result.figure(name) == pytest.approx(exact[name], rel=2e-3)  # HdrHistogram: 3 digits
    assert result.error_rate == pytest.approx(exact["error_rate"])
    assert result.rps == pytest.approx(exact["rps"])


def test_optimisation_runs_have_a_winner_that_is_not_last() -> None:
    for seed in (42, 20_231, 7, 123):
        baseline, steps = optimisation_runs(seed)
        assert sorted(name for name, _ in steps) == sorted(f"+{n}" for n in STEP_NAMES)
        table = impact.impact_table_reference(baseline, steps)
        gains = list(table["throughput_gain"])
        winner = impact.largest_impact_reference(table)
        assert winner != steps[-1][0]
        assert winner != table["optimisation"].iloc[int(table["rps_after"].to_numpy().argmax())]
        assert min(gains) < 1 < max(gains)
    a, b = optimisation_runs(42)[0], optimisation_runs(20_231)[0]
    assert a.rps != b.rps


def test_impact_table_compares_each_step_with_the_one_before() -> None:
    baseline, steps = optimisation_runs(42)
    table = impact.impact_table_reference(baseline, steps)
    assert table["rps_before"].iloc[0] == baseline.rps
    for index in range(1, len(steps)):
        assert table["rps_before"].iloc[index] == steps[index - 1][1].rps
        assert table["p95_after_ms"].iloc[index] == steps[index][1].p95


def test_alert_scenarios_at_and_past_the_bounds() -> None:
    scenarios = {name: (result, limit) for name, result, limit in alert_scenarios(42)}
    at, limit = scenarios["every signal exactly at its bound"]
    assert at.error_rate == 0.01
    assert alerts.cache_hit_rate(at) == 0.70
    assert alerts.alert_states_reference(at, limit) == dict.fromkeys(alerts.SIGNALS, False)
    past, limit = scenarios["a slow tail, 1.1% errors, a cold cache"]
    assert past.figure("mean_ms") < 500 < past.p95  # the mean would hide this one
    assert alerts.alert_states_reference(past, limit) == dict.fromkeys(alerts.SIGNALS, True)
    unsampled, limit = scenarios["no cache and no loop-lag sample"]
    assert alerts.cache_hit_rate(unsampled) is None
    assert not any(alerts.alert_states_reference(unsampled, limit).values())


def test_breaking_point_runs_move_their_knee_with_the_seed() -> None:
    def figures(seed: int) -> list[list[tuple[float | None, float]]]:
        return [[(s.rate, s.p99) for s in case.steps] for case in breaking_cases(seed)]

    assert figures(42) == figures(42) != figures(20_231)
    knees: dict[str, set[float | None]] = {}
    for seed in (42, 20_231, 90_210):
        cases = {case.name: case for case in breaking_cases(seed)}
        for name, case in cases.items():
            knees.setdefault(name, set()).add(
                breaking_rate_reference(case.steps, case.p99_ms, case.max_error_rate)
            )
    for cause in ("p99 blows up", "errors blow up while p99 stays low"):
        assert len(knees[cause]) == 3  # an answer typed in for one seed fails the next
    assert knees["never breaks within these rates (one step at exactly 1% errors)"] == {None}
    assert knees["too slow from the first step"] == {50.0}


def test_breaking_point_runs_separate_the_causes() -> None:
    for case in breaking_cases(42):
        ordered = sorted(case.steps, key=lambda s: s.rate or 0.0)
        knee = breaking_rate_reference(case.steps, case.p99_ms, case.max_error_rate)
        assert all(s.mode == "open" and s.overall.count == round(s.rps * SECONDS) for s in ordered)
        assert ordered[1].p99 > ordered[0].p99  # p99 rises at once, whether or not it breaks
        busiest = max(ordered, key=lambda s: s.rps)
        assert busiest.rate != knee  # the knee is not where throughput peaks
        past = [s for s in case.steps if crossed(s, case.p99_ms, case.max_error_rate)]
        if len(past) > 1:
            assert past[0].rate != knee  # handed over in an order that does not give it away
        if knee is None:
            assert any(s.error_rate == case.max_error_rate for s in ordered)  # at, not past
        if case.name == "errors blow up while p99 stays low":
            assert all(s.p99 < case.p99_ms and s.rps >= 0.9 * (s.rate or 0) for s in ordered)
        if case.name == "the achieved rate falls behind the offered rate":
            assert all(s.p99 < case.p99_ms and s.error_rate <= 0.01 for s in ordered)
            assert any(s.dropped > 0 and s.rate == knee for s in ordered)


def test_report_reads_back_with_the_measured_numbers() -> None:
    baseline, steps = optimisation_runs(42)
    built = report.make_report_reference(baseline, steps, plots=False)
    markdown = report_text(built)
    assert markdown is not None and report_text(markdown) == markdown
    assert report_text(42) is None
    found = sections(markdown)
    assert all(name in found for name in SECTIONS)
    rows = first_table(found["Results summary"])
    assert rows[0] == ["metric", "before", "after", "change", "rests on"]
    by_metric = {row[0]: row for row in rows[1:]}
    assert first_number(by_metric["p95"][1]) == pytest.approx(baseline.p95, abs=0.051)
    assert first_number(by_metric["throughput"][2]) == pytest.approx(steps[-1][1].rps, abs=0.51)
    assert "Claimed for a comparable API" in found["Executive summary"]
    assert f"{baseline.rps:,.0f} →" in found["Executive summary"]


def test_first_number_reads_formatted_cells() -> None:
    assert first_number("1,234.5 ms") == 1234.5
    assert first_number("2.13%") == 2.13
    assert first_number("n/a") is None
    assert math.isclose(first_number("×0.25 (better)") or 0, 0.25)


def test_short_names_make_runs_comparable() -> None:
    assert (
        short_name("/api/posts?limit=20&cursor=eyJvIjo1MDAwfQ") == "/api/posts?limit=20 (deep page)"
    )
    assert short_name("/api/feed?user_id=1") == "/api/feed?user_id=1"
    result = result_from_samples(
        {"/api/posts?limit=20&cursor=abc": [(5.0, "200")]}, duration=1.0, label="t"
    )
    assert relabel(result).figure("requests", "/api/posts?limit=20 (deep page)") == 1


# ---- live helpers, against a real server ---------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from labkit.data import build

    return build(size="tiny", seed=42, path=tmp_path_factory.mktemp("n06") / "tiny.sqlite").path


@pytest.mark.server
def test_live_cursor_and_samples(tiny_dataset: Path) -> None:
    from labkit.app import LabServer
    from labkit.lessons.n06_capstone.live import capstone_endpoints, collect_samples, page_cursor

    with LabServer(optimize="none", dataset=tiny_dataset) as server:
        assert page_cursor(server.url, 200) == "eyJvIjoyMDB9"  # {"o":200}: an offset cursor
        with pytest.raises(LoadError, match="too small"):
            page_cursor(server.url, 10_000)
        assert len(capstone_endpoints(server, 200)) == 4
        samples = asyncio.run(collect_samples(server.url, "/api/products/1", requests=12))
        assert len(samples) == 12 and all(outcome == "200" for _, outcome in samples)
        missing = asyncio.run(collect_samples(server.url, "/api/products/999999", requests=3))
        assert {outcome for _, outcome in missing} == {"404"}
    with LabServer(optimize="keyset", dataset=tiny_dataset) as server:
        assert page_cursor(server.url, 200) != "eyJvIjoyMDB9"  # the last row seen instead
