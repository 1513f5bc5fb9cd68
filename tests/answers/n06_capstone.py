"""Discrimination cases for notebook 06 (capstone): stubs, references, other correct answers,
and the plausible wrong answers each check must reject."""

from __future__ import annotations

import itertools
import statistics
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from labkit.lessons.n06_capstone import alerts, impact, report, summary
from labkit.lessons.n06_capstone.breaking_point import breaking_rate_reference
from labkit.lessons.n06_capstone.diagnose import diagnose as diagnose_reference
from labkit.load.result import LoadResult
from labkit.report import build_report
from tests.answers import Case

Samples = Sequence[tuple[float, str]]
Steps = Sequence[tuple[str, LoadResult]]
Steps1 = Sequence[LoadResult]  # open-loop steps, one per offered rate

# ---- 06.latency_summary -------------------------------------------------------------------------


def summary_stub(samples: Samples, duration_s: float) -> dict[str, float]:
    raise NotImplementedError()


def summary_numpy(samples: Samples, duration_s: float) -> dict[str, float]:
    """numpy's inverted-CDF percentile is the nearest rank."""
    latencies = np.array([ms for ms, _ in samples])
    p50, p95, p99 = np.percentile(latencies, [50, 95, 99], method="inverted_cdf")
    ok = sum(1 for _, outcome in samples if outcome in {str(s) for s in range(100, 400)})
    return {
        "requests": len(samples),
        "rps": len(samples) / duration_s,
        "p50_ms": float(p50),
        "p95_ms": float(p95),
        "p99_ms": float(p99),
        "error_rate": 1 - ok / len(samples),
    }


def summary_counting(samples: Samples, duration_s: float) -> dict[str, float]:
    """Walk the sorted latencies until the share at or below reaches p."""
    latencies = sorted(ms for ms, _ in samples)
    n = len(latencies)

    def percentile(p: float) -> float:
        for seen, value in enumerate(latencies, start=1):
            if seen * 100 >= p * n:
                return value
        return latencies[-1]

    errors = 0
    for _, outcome in samples:
        try:
            failed = int(outcome) >= 400
        except ValueError:  # "Timeout": no answer at all
            failed = True
        errors += failed
    return {
        "requests": n,
        "rps": n / duration_s,
        "p50_ms": percentile(50),
        "p95_ms": percentile(95),
        "p99_ms": percentile(99),
        "error_rate": errors / n,
    }


def summary_mean_for_p95(samples: Samples, duration_s: float) -> dict[str, float]:
    result = summary.summarise_reference(samples, duration_s)
    result["p95_ms"] = statistics.fmean(ms for ms, _ in samples)
    return result


def summary_off_by_one(samples: Samples, duration_s: float) -> dict[str, float]:
    latencies = sorted(ms for ms, _ in samples)
    result = summary.summarise_reference(samples, duration_s)
    for p in (50, 95, 99):
        result[f"p{p}_ms"] = latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))]
    return result


def summary_interpolated(samples: Samples, duration_s: float) -> dict[str, float]:
    latencies = [ms for ms, _ in samples]
    result = summary.summarise_reference(samples, duration_s)
    for p in (50, 95, 99):
        result[f"p{p}_ms"] = float(np.percentile(latencies, p))
    return result


def summary_exceptions_only(samples: Samples, duration_s: float) -> dict[str, float]:
    result = summary.summarise_reference(samples, duration_s)
    result["error_rate"] = sum(not o.isdigit() for _, o in samples) / len(samples)
    return result


def summary_5xx_only(samples: Samples, duration_s: float) -> dict[str, float]:
    result = summary.summarise_reference(samples, duration_s)
    result["error_rate"] = sum(not o.isdigit() or o[0] == "5" for _, o in samples) / len(samples)
    return result


def summary_hard_coded(samples: Samples, duration_s: float) -> dict[str, float]:
    """The numbers of the default seed's first case, whatever the samples."""
    from labkit.lessons.n06_capstone.summary import sample_sets

    cases = sample_sets(42)
    for case_samples, case_duration in cases:
        if len(case_samples) == len(samples):
            return summary.summarise_reference(case_samples, case_duration)
    return summary.summarise_reference(cases[0][0], cases[0][1])


def summary_not_200(samples: Samples, duration_s: float) -> dict[str, float]:
    """Every outcome but "200" counted as an error (201, 204, 3xx too)."""
    result = summary.summarise_reference(samples, duration_s)
    result["error_rate"] = sum(o != "200" for _, o in samples) / len(samples)
    return result


def summary_non_2xx(samples: Samples, duration_s: float) -> dict[str, float]:
    """3xx counted as errors (the generator counts them as answers)."""
    result = summary.summarise_reference(samples, duration_s)
    result["error_rate"] = sum(not o.startswith("2") for _, o in samples) / len(samples)
    return result


def summary_int_status(samples: Samples, duration_s: float) -> dict[str, float]:
    """Compares the text outcome with an int: every sample is an 'error'."""
    result = summary.summarise_reference(samples, duration_s)
    result["error_rate"] = sum(o != 200 for _, o in samples) / len(samples)  # type: ignore[comparison-overlap]
    return result


def summary_round_rank(samples: Samples, duration_s: float) -> dict[str, float]:
    """round() instead of ceil for the rank."""
    latencies = sorted(ms for ms, _ in samples)
    result = summary.summarise_reference(samples, duration_s)
    for p in (50, 95, 99):
        rank = max(1, round(p / 100 * len(latencies)))
        result[f"p{p}_ms"] = latencies[rank - 1]
    return result


def summary_half_up_rank(samples: Samples, duration_s: float) -> dict[str, float]:
    """int(x + 0.5) instead of ceil for the rank."""
    latencies = sorted(ms for ms, _ in samples)
    result = summary.summarise_reference(samples, duration_s)
    for p in (50, 95, 99):
        rank = max(1, int(p / 100 * len(latencies) + 0.5))
        result[f"p{p}_ms"] = latencies[rank - 1]
    return result


def summary_memo_by_length() -> tuple[Any, ...]:
    """Remembers each result by the number of samples."""
    memo: dict[int, dict[str, float]] = {}

    def summarise(samples: Samples, duration_s: float) -> dict[str, float]:
        if len(samples) not in memo:
            memo[len(samples)] = summary.summarise_reference(samples, duration_s)
        return memo[len(samples)]

    return (summarise,)


# ---- 06.breaking_point --------------------------------------------------------------------------


def breaking_stub(steps: Steps1, p99_ms: float, max_error_rate: float) -> float | None:
    raise NotImplementedError()


def _past(step: LoadResult, p99_ms: float, max_error_rate: float) -> bool:
    """Past a bound, written out (not labkit's own rule)."""
    return (
        step.p99 > p99_ms or step.error_rate > max_error_rate or step.rps < 0.9 * (step.rate or 0.0)
    )


def breaking_frame(steps: Steps1, p99_ms: float, max_error_rate: float) -> float | None:
    """A DataFrame of the steps, a boolean mask, the smallest rate it keeps."""
    frame = pd.DataFrame(
        {
            "offered": [s.rate for s in steps],
            "achieved": [s.figure("rps") for s in steps],
            "p99": [s.figure("p99_ms") for s in steps],
            "errors": [s.overall.errors / s.overall.count for s in steps],
        }
    )
    broken = frame[
        (frame["p99"] > p99_ms)
        | (frame["errors"] > max_error_rate)
        | (frame["achieved"] < 0.9 * frame["offered"])
    ]
    return None if broken.empty else float(broken["offered"].min())


def breaking_min_of_crossings(steps: Steps1, p99_ms: float, max_error_rate: float) -> float | None:
    """The smallest rate among the steps past a bound, without sorting."""
    rates = [s.rate for s in steps if _past(s, p99_ms, max_error_rate)]
    return min(rates) if rates else None  # type: ignore[type-var]


def _ordered(steps: Steps1) -> list[LoadResult]:
    return sorted(steps, key=lambda s: s.rate or 0.0)


def breaking_sorted_walk(steps: Steps1, p99_ms: float, max_error_rate: float) -> float | None:
    """Walk the steps by rate and stop at the first past a bound."""
    return next((s.rate for s in _ordered(steps) if _past(s, p99_ms, max_error_rate)), None)


def breaking_max_throughput(steps: Steps1, p99_ms: float, max_error_rate: float) -> float | None:
    """The rate at which the server served the most: its capacity, not its knee."""
    return max(steps, key=lambda s: s.rps).rate


def breaking_first_p99_rise(steps: Steps1, p99_ms: float, max_error_rate: float) -> float | None:
    """The first step whose p99 is higher than the step before's (noise, not a break)."""
    ordered = _ordered(steps)
    for before, step in itertools.pairwise(ordered):
        if step.p99 > before.p99:
            return step.rate
    return None


def breaking_ignores_errors(steps: Steps1, p99_ms: float, max_error_rate: float) -> float | None:
    for step in _ordered(steps):
        if step.p99 > p99_ms or step.rps < 0.9 * (step.rate or 0.0):
            return step.rate
    return None


def breaking_ignores_achieved(steps: Steps1, p99_ms: float, max_error_rate: float) -> float | None:
    """Only what came back is judged: sends the server never kept up with are not seen."""
    for step in _ordered(steps):
        if step.p99 > p99_ms or step.error_rate > max_error_rate:
            return step.rate
    return None


def breaking_last_step(steps: Steps1, p99_ms: float, max_error_rate: float) -> float | None:
    """Where breaking_point stopped, on the live run: the last step."""
    return _ordered(steps)[-1].rate


def breaking_list_order(steps: Steps1, p99_ms: float, max_error_rate: float) -> float | None:
    """The first step past a bound in the order handed over (they come shuffled)."""
    return next((s.rate for s in steps if _past(s, p99_ms, max_error_rate)), None)


def breaking_at_or_over(steps: Steps1, p99_ms: float, max_error_rate: float) -> float | None:
    """Exactly at the bound counted as broken."""
    for step in _ordered(steps):
        if (
            step.p99 >= p99_ms
            or step.error_rate >= max_error_rate
            or step.rps < 0.9 * (step.rate or 0.0)
        ):
            return step.rate
    return None


def breaking_last_sustained(steps: Steps1, p99_ms: float, max_error_rate: float) -> float | None:
    """The last rate inside the bounds, instead of the first one past them."""
    kept = None
    for step in _ordered(steps):
        if _past(step, p99_ms, max_error_rate):
            return kept
        kept = step.rate
    return None


def breaking_fixed_bounds(steps: Steps1, p99_ms: float, max_error_rate: float) -> float | None:
    """500 ms and 1% typed in, whatever bounds the run was given."""
    return breaking_sorted_walk(steps, 500.0, 0.01)


def breaking_any_shortfall(steps: Steps1, p99_ms: float, max_error_rate: float) -> float | None:
    """Any achieved rate below the offered one counted as broken (the generator's own jitter)."""
    for step in _ordered(steps):
        if step.p99 > p99_ms or step.error_rate > max_error_rate or step.rps < (step.rate or 0.0):
            return step.rate
    return None


def breaking_memo_by_length() -> tuple[Any, ...]:
    """Remembers the answer by the number of steps."""
    memo: dict[int, float | None] = {}

    def breaking_rate(steps: Steps1, p99_ms: float, max_error_rate: float) -> float | None:
        if len(steps) not in memo:
            memo[len(steps)] = breaking_sorted_walk(steps, p99_ms, max_error_rate)
        return memo[len(steps)]

    return (breaking_rate,)


def breaking_hard_coded() -> tuple[Any, ...]:
    """The default seed's breaking rates, replayed in call order."""
    from labkit.lessons.n06_capstone.breaking_point import breaking_cases

    rates = [
        breaking_sorted_walk(case.steps, case.p99_ms, case.max_error_rate)
        for case in breaking_cases(42)
    ]
    calls = iter(rates)

    def breaking_rate(steps: Steps1, p99_ms: float, max_error_rate: float) -> float | None:
        return next(calls, rates[0])

    return (breaking_rate,)


# ---- 06.diagnose --------------------------------------------------------------------------------


def diagnose_stub(frames: pd.DataFrame) -> str:
    raise NotImplementedError()


def diagnose_loop(frames: pd.DataFrame) -> str:
    """A plain loop over the rows, keeping the hottest fixable one."""
    from labkit.lessons.n06_capstone.diagnose import FIXES

    best, best_time = "", -1.0
    for row in frames.to_dict(orient="records"):
        if row["function"] in FIXES and row["time_s"] > best_time:
            best, best_time = row["function"], row["time_s"]
    return FIXES[best]


def diagnose_top_row(frames: pd.DataFrame) -> str:
    """The hottest row of all (a wrapper), mapped if it can be."""
    from labkit.lessons.n06_capstone.diagnose import FIXES

    top = str(frames.sort_values("time_s", ascending=False)["function"].iloc[0])
    return FIXES.get(top, top)


def diagnose_first_fixable_row(frames: pd.DataFrame) -> str:
    """The first fixable row in table order, unsorted."""
    from labkit.lessons.n06_capstone.diagnose import FIXES

    return FIXES[next(f for f in frames["function"] if f in FIXES)]


def diagnose_coolest(frames: pd.DataFrame) -> str:
    """Sorted the wrong way."""
    from labkit.lessons.n06_capstone.diagnose import FIXES

    fixable = frames[frames["function"].isin(list(FIXES))]
    return FIXES[str(fixable.sort_values("time_s")["function"].iloc[0])]


def diagnose_always_n_plus_one(frames: pd.DataFrame) -> str:
    return "eager_loading"


# ---- 06.impact_table ----------------------------------------------------------------------------


def impact_stub(baseline: LoadResult, steps: Steps) -> pd.DataFrame:
    raise NotImplementedError()


def largest_stub(table: pd.DataFrame) -> str:
    raise NotImplementedError()


def impact_records(baseline: LoadResult, steps: Steps) -> list[dict[str, Any]]:
    """A list of dicts from zip(), instead of a loop keeping the previous result."""
    results = [baseline, *(result for _, result in steps)]
    return [
        {
            "optimisation": name,
            "rps_before": before.figure("rps"),
            "rps_after": after.figure("rps"),
            "p95_before_ms": before.figure("p95_ms"),
            "p95_after_ms": after.figure("p95_ms"),
            "throughput_gain": after.figure("rps") / before.figure("rps"),
            "p95_change": after.figure("p95_ms") / before.figure("p95_ms"),
        }
        for (name, _), before, after in zip(steps, results[:-1], results[1:], strict=True)
    ]


def largest_sorted(table: pd.DataFrame) -> str:
    return str(table.sort_values("throughput_gain").iloc[-1]["optimisation"])


def impact_vs_baseline(baseline: LoadResult, steps: Steps) -> pd.DataFrame:
    rows = [
        {
            "optimisation": name,
            "rps_before": baseline.rps,
            "rps_after": result.rps,
            "p95_before_ms": baseline.p95,
            "p95_after_ms": result.p95,
            "throughput_gain": result.rps / baseline.rps,
            "p95_change": result.p95 / baseline.p95,
        }
        for name, result in steps
    ]
    return pd.DataFrame(rows)


def impact_mean_latency(baseline: LoadResult, steps: Steps) -> pd.DataFrame:
    table = impact.impact_table_reference(baseline, steps)
    means = [r.figure("mean_ms") for r in (baseline, *(s for _, s in steps))]
    table["p95_before_ms"], table["p95_after_ms"] = means[:-1], means[1:]
    table["p95_change"] = table["p95_after_ms"] / table["p95_before_ms"]
    return table


def impact_first_endpoint(baseline: LoadResult, steps: Steps) -> pd.DataFrame:
    table = impact.impact_table_reference(baseline, steps)
    first = next(iter(baseline.endpoints))
    results = [baseline, *(s for _, s in steps)]
    table["p95_before_ms"] = [r.figure("p95_ms", first) for r in results[:-1]]
    table["p95_after_ms"] = [r.figure("p95_ms", first) for r in results[1:]]
    table["p95_change"] = table["p95_after_ms"] / table["p95_before_ms"]
    return table


def largest_by_rps_after(table: pd.DataFrame) -> str:
    return str(table["optimisation"].iloc[int(table["rps_after"].to_numpy().argmax())])


def largest_by_p95_change(table: pd.DataFrame) -> str:
    """Largest p95_change is the step that made p95 *worse*."""
    return str(table["optimisation"].iloc[int(table["p95_change"].to_numpy().argmax())])


def largest_hard_coded(table: pd.DataFrame) -> str:
    return "+eager_loading"  # the default seed's answer


def largest_absolute_gain(table: pd.DataFrame) -> str:
    """The most req/s gained, instead of the largest ratio."""
    gains = (table["rps_after"] - table["rps_before"]).to_numpy()
    return str(table["optimisation"].iloc[int(gains.argmax())])


def largest_by_p95_drop(table: pd.DataFrame) -> str:
    """The step that cut p95 the most, instead of the one that raised throughput most."""
    return str(table["optimisation"].iloc[int(table["p95_change"].to_numpy().argmin())])


def impact_memo_by_length() -> tuple[Any, ...]:
    """Remembers the table by the number of steps."""
    memo: dict[int, pd.DataFrame] = {}

    def impact_table(baseline: LoadResult, steps: Steps) -> pd.DataFrame:
        if len(steps) not in memo:
            memo[len(steps)] = impact.impact_table_reference(baseline, steps)
        return memo[len(steps)]

    return (impact_table, impact.largest_impact_reference)


# ---- 06.alerts ----------------------------------------------------------------------------------


def alerts_stub(result: LoadResult, memory_limit_mb: float) -> dict[str, bool]:
    raise NotImplementedError()


def alerts_from_rows(result: LoadResult, memory_limit_mb: float) -> dict[str, bool]:
    """From the overall row of to_frame() and the server dict, written out by hand."""
    overall = result.to_frame().loc["overall"]
    server = result.server or {}
    counters = server.get("counters", {})
    hits = counters.get("cache_hits_l1", 0) + counters.get("cache_hits_l2", 0)
    lookups = hits + counters.get("cache_misses", 0)
    lag = server.get("loop_lag_ms_max")
    return {
        "p95": bool(overall["p95_ms"] > 500),
        "errors": bool(overall["error_rate"] > 0.01),
        "cache_hit_rate": bool(lookups and hits / lookups < 0.70),
        "loop_lag": bool(lag is not None and lag > 50),
        "memory": bool(server.get("rss_mb_max", 0) > 0.8 * memory_limit_mb),
    }


def alerts_at_or_over(result: LoadResult, memory_limit_mb: float) -> dict[str, bool]:
    server = result.server or {}
    hit_rate = alerts.cache_hit_rate(result)
    lag = server.get("loop_lag_ms_max")
    return {
        "p95": result.p95 >= 500,
        "errors": result.error_rate >= 0.01,
        "cache_hit_rate": hit_rate is not None and hit_rate <= 0.70,
        "loop_lag": lag is not None and lag >= 50,
        "memory": server["rss_mb_max"] / memory_limit_mb >= 0.8,
    }


def alerts_percent_confusion(result: LoadResult, memory_limit_mb: float) -> dict[str, bool]:
    states = alerts.alert_states_reference(result, memory_limit_mb)
    states["errors"] = result.error_rate > 1  # "errors > 1%" read as 1
    return states


def alerts_mean_latency(result: LoadResult, memory_limit_mb: float) -> dict[str, bool]:
    states = alerts.alert_states_reference(result, memory_limit_mb)
    states["p95"] = result.figure("mean_ms") > 500
    return states


def alerts_l1_only(result: LoadResult, memory_limit_mb: float) -> dict[str, bool]:
    states = alerts.alert_states_reference(result, memory_limit_mb)
    counters = (result.server or {}).get("counters", {})
    hits, misses = counters.get("cache_hits_l1", 0), counters.get("cache_misses", 0)
    states["cache_hit_rate"] = bool(hits + misses) and hits / (hits + misses) < 0.7
    return states


def alerts_unsampled_crash(result: LoadResult, memory_limit_mb: float) -> dict[str, bool]:
    states = alerts.alert_states_reference(result, memory_limit_mb)
    states["loop_lag"] = (result.server or {})["loop_lag_ms_max"] > 50  # None > 50 raises
    return states


def alerts_memo_by_requests() -> tuple[Any, ...]:
    """Remembers the states by the number of requests in the run."""
    memo: dict[int, dict[str, bool]] = {}

    def alert_states(result: LoadResult, memory_limit_mb: float) -> dict[str, bool]:
        count = result.overall.count
        if count not in memo:
            memo[count] = alerts.alert_states_reference(result, memory_limit_mb)
        return memo[count]

    return (alert_states,)


def alerts_errors_from_not_200(result: LoadResult, memory_limit_mb: float) -> dict[str, bool]:
    """Error rate from the statuses, counting everything but "200" as an error."""
    states = alerts.alert_states_reference(result, memory_limit_mb)
    statuses = result.overall.statuses
    total = sum(statuses.values())
    states["errors"] = bool(total) and (total - statuses.get("200", 0)) / total > 0.01
    return states


def alerts_hard_coded() -> tuple[Any, ...]:
    """The default seed's states, replayed in call order."""
    import random as _random

    from labkit.lessons.n06_capstone.alerts import alert_scenarios

    scenarios = alert_scenarios(42)
    _random.Random(42).shuffle(scenarios)
    states = [alerts.alert_states_reference(result, limit) for _, result, limit in scenarios]
    calls = iter(states)

    def alert_states(result: LoadResult, memory_limit_mb: float) -> dict[str, bool]:
        return next(calls, states[0])

    return (alert_states,)


# ---- 06.report ----------------------------------------------------------------------------------


def report_stub(baseline: LoadResult, steps: Steps) -> Any:
    raise NotImplementedError()


def report_reference(baseline: LoadResult, steps: Steps) -> Any:
    return report.make_report_reference(baseline, steps, plots=False)


def report_from_files(baseline: LoadResult, steps: Steps) -> str:
    """Saved to JSON first, then built from the files (what `labkit report` does)."""
    with tempfile.TemporaryDirectory() as tmp:
        base_path = Path(tmp) / "baseline.json"
        baseline.to_json(base_path)
        loaded = []
        for index, (name, result) in enumerate(steps):
            path = Path(tmp) / f"step{index}.json"
            result.to_json(path)
            loaded.append((name, LoadResult.from_json(path)))
        report = build_report(base_path, path, steps=loaded, priority="medium", plots=False)
    return report.markdown


def report_swapped(baseline: LoadResult, steps: Steps) -> Any:
    return build_report(steps[-1][1], baseline, steps=list(steps), plots=False)


def report_first_step(baseline: LoadResult, steps: Steps) -> Any:
    return build_report(baseline, steps[0][1], steps=list(steps), plots=False)


def report_without_steps(baseline: LoadResult, steps: Steps) -> Any:
    return build_report(baseline, steps[-1][1], plots=False)


def report_claimed_figures(baseline: LoadResult, steps: Steps) -> str:
    """Complete, with the industry's figures where the measured ones belong."""
    markdown = build_report(baseline, steps[-1][1], steps=list(steps), plots=False).markdown
    head, rest = markdown.split("## Results summary", 1)
    table_end = rest.index("\n\n", rest.index("| error rate"))
    claimed = (
        "\n\n| metric | before | after | change |\n|---|---|---|---|\n"
        "| p50 | 420.0 ms | 60.0 ms | ×0.14 |\n| p95 | 1,100.0 ms | 180.0 ms | ×0.16 |\n"
        "| p99 | 2,000.0 ms | 350.0 ms | ×0.18 |\n| throughput | 85 req/s | 320 req/s | ×3.76 |\n"
        "| error rate | 2.00% | 0.10% | ×0.05 |"
    )
    return head + "## Results summary" + claimed + rest[table_end:]


def report_summary_only(baseline: LoadResult, steps: Steps) -> str:
    after = steps[-1][1]
    lines = ["# Backend Optimisation Report", "", "## Results summary", ""]
    lines += ["| metric | before | after |", "|---|---|---|"]
    for label, name in (("p50", "p50_ms"), ("p95", "p95_ms"), ("p99", "p99_ms")):
        lines.append(f"| {label} | {baseline.figure(name):.1f} ms | {after.figure(name):.1f} ms |")
    lines.append(f"| throughput | {baseline.rps:.0f} | {after.rps:.0f} |")
    lines.append(f"| error rate | {baseline.error_rate:.2%} | {after.error_rate:.2%} |")
    return "\n".join(lines)


def report_memo_by_steps() -> tuple[Any, ...]:
    """Remembers the report by the number of steps."""
    memo: dict[int, Any] = {}

    def make_report(baseline: LoadResult, steps: Steps) -> Any:
        if len(steps) not in memo:
            memo[len(steps)] = report.make_report_reference(baseline, steps, plots=False)
        return memo[len(steps)]

    return (make_report,)


def report_hard_coded(baseline: LoadResult, steps: Steps) -> str:
    """The default seed's report, whatever the runs."""
    from labkit.lessons.n06_capstone.recorded_runs import optimisation_runs

    base, recorded = optimisation_runs(42)
    return str(report.make_report_reference(base, recorded, plots=False).markdown)


CASES = {
    "06.latency_summary": Case(
        stub=(summary_stub,),
        reference=(summary.summarise_reference,),
        alternatives=[(summary_numpy,), (summary_counting,)],
        wrong={
            "mean instead of p95": (summary_mean_for_p95,),
            "nearest rank off by one": (summary_off_by_one,),
            "interpolated percentiles": (summary_interpolated,),
            "error rate counts only exceptions": (summary_exceptions_only,),
            "error rate counts only 5xx and exceptions": (summary_5xx_only,),
            "hard-coded for the default seed": (summary_hard_coded,),
            "error = status != '200'": (summary_not_200,),
            "3xx counted as errors": (summary_non_2xx,),
            "outcome compared with an int": (summary_int_status,),
            "rank by round()": (summary_round_rank,),
            "rank by int(x + 0.5)": (summary_half_up_rank,),
            "memoised by input length": summary_memo_by_length,
        },
        fits_default_seed=("hard-coded for the default seed",),
    ),
    "06.breaking_point": Case(
        stub=(breaking_stub,),
        reference=(breaking_rate_reference,),
        alternatives=[
            (breaking_frame,),
            (breaking_min_of_crossings,),
            (breaking_sorted_walk,),
        ],
        wrong={
            "max throughput instead of the knee": (breaking_max_throughput,),
            "first step whose p99 rises at all": (breaking_first_p99_rise,),
            "errors ignored": (breaking_ignores_errors,),
            "achieved < offered ignored": (breaking_ignores_achieved,),
            "the last step always": (breaking_last_step,),
            "trusts the order handed over": (breaking_list_order,),
            "at the bound counted as broken": (breaking_at_or_over,),
            "last sustained rate instead": (breaking_last_sustained,),
            "bounds typed in (500 ms, 1%)": (breaking_fixed_bounds,),
            "any shortfall counted as broken": (breaking_any_shortfall,),
            "memoised by number of steps": breaking_memo_by_length,
            "default seed's rates replayed": breaking_hard_coded,
        },
        fits_default_seed=("default seed's rates replayed",),
    ),
    "06.diagnose": Case(
        stub=(diagnose_stub,),
        reference=(diagnose_reference,),
        alternatives=[(diagnose_loop,)],
        wrong={
            "hottest row of all (a wrapper)": (diagnose_top_row,),
            "first fixable row, unsorted": (diagnose_first_fixable_row,),
            "coolest fixable frame": (diagnose_coolest,),
            "always eager_loading": (diagnose_always_n_plus_one,),
        },
    ),
    "06.impact_table": Case(
        stub=(impact_stub, largest_stub),
        reference=(impact.impact_table_reference, impact.largest_impact_reference),
        alternatives=[(impact_records, largest_sorted)],
        wrong={
            "every step against the baseline": (
                impact_vs_baseline,
                impact.largest_impact_reference,
            ),
            "mean latency instead of p95": (impact_mean_latency, impact.largest_impact_reference),
            "first endpoint instead of overall": (
                impact_first_endpoint,
                impact.largest_impact_reference,
            ),
            "largest rps_after wins": (impact.impact_table_reference, largest_by_rps_after),
            "largest p95_change wins": (impact.impact_table_reference, largest_by_p95_change),
            "hard-coded winner": (impact.impact_table_reference, largest_hard_coded),
            "largest absolute gain wins": (impact.impact_table_reference, largest_absolute_gain),
            "largest p95 drop wins": (impact.impact_table_reference, largest_by_p95_drop),
            "table memoised by number of steps": impact_memo_by_length,
        },
        fits_default_seed=("hard-coded winner",),
    ),
    "06.alerts": Case(
        stub=(alerts_stub,),
        reference=(alerts.alert_states_reference,),
        alternatives=[(alerts_from_rows,)],
        wrong={
            "alert at the bound (>=)": (alerts_at_or_over,),
            "errors > 1 instead of > 0.01": (alerts_percent_confusion,),
            "mean latency instead of p95": (alerts_mean_latency,),
            "hit rate from L1 only": (alerts_l1_only,),
            "crashes on an unsampled signal": (alerts_unsampled_crash,),
            "memoised by request count": alerts_memo_by_requests,
            "errors = every status but 200": (alerts_errors_from_not_200,),
            "default seed's states replayed": alerts_hard_coded,
        },
        fits_default_seed=("default seed's states replayed",),
    ),
    "06.report": Case(
        stub=(report_stub,),
        reference=(report_reference,),
        alternatives=[(report_from_files,)],
        wrong={
            "baseline and after swapped": (report_swapped,),
            "after = the first step": (report_first_step,),
            "steps left out": (report_without_steps,),
            "claimed figures instead of measured": (report_claimed_figures,),
            "results table only": (report_summary_only,),
            "memoised by number of steps": report_memo_by_steps,
            "the default seed's report": (report_hard_coded,),
        },
    ),
}
