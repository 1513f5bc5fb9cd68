"""Report sections that show what was measured: context, summary, per endpoint, per step,
before/after, resource use, load-test totals, and claimed figures beside measured ones."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from typing import Any, Final

from labkit.errors import ReportError
from labkit.load.interleaved import InterleavedComparison, effects_by_step, few_samples
from labkit.load.result import LoadResult
from labkit.report.blocks import Block, Bullets, Heading, Paragraph, Table
from labkit.report.claims import claims_table
from labkit.report.formatting import FEW_SAMPLES, change, effect, ms, pct, percentile, rps

ENDPOINT_COLUMNS: Final = ("endpoint", "requests", "throughput", "p50", "p95", "p99", "errors")


def _shape(result: LoadResult) -> str:
    if result.mode == "open":
        return f"open loop at {result.rate:g} req/s for {result.duration:.1f} s"
    return f"{result.vus} virtual users for {result.duration:.1f} s"


def _endpoint_rows(result: LoadResult) -> tuple[tuple[str, ...], ...]:
    return tuple(
        (
            f"`{row['endpoint']}`",
            f"{row['requests']:,}",
            rps(row["rps"]),
            ms(row["p50_ms"]),
            percentile(row["p95_ms"], "p95_ms", row["requests"]),
            percentile(row["p99_ms"], "p99_ms", row["requests"]),
            pct(row["error_rate"]),
        )
        for row in result.rows()
    )


def context_section(
    base: LoadResult,
    tuned: LoadResult,
    env: Mapping[str, Any],
    note: Mapping[str, Any],
    priority: str,
    comparison: InterleavedComparison | None = None,
) -> list[Block]:
    date = (base.started_at or dt.datetime.now(dt.UTC).isoformat())[:10]
    return [
        Heading(2, "Context"),
        Bullets(
            tuple(
                item
                for item in (
                    f"Date: {date}"
                    + (f" · Author: {note['author']}" if note.get("author") else ""),
                    f"Framework: {env.get('framework')} · Server: {env.get('server')}",
                    f"Runtime: {env.get('implementation', 'Python')} {env.get('python')} on "
                    f"{env.get('platform')}, {env.get('cpu_cores')} CPU cores",
                    f"Database: {env.get('database')} · Load client: {env.get('load_client')}",
                    f"Load profile: {_shape(base)} (warm-up {base.warmup:g} s excluded)",
                    f"Endpoints: {', '.join(f'`{e}`' for e in base.endpoints)}",
                    f"Baseline optimisations: {base.environment.get('optimize', 'unknown')} · "
                    f"after: {tuned.environment.get('optimize', 'unknown')} · "
                    f"workers: {tuned.environment.get('workers', 'unknown')}",
                    f"Priority: {priority}",
                    _trust(base, comparison),
                    str(note["context"]) if note.get("context") else "",
                )
                if item
            )
        ),
    ]


def _trust(base: LoadResult, comparison: InterleavedComparison | None) -> str:
    """How far the figures can be trusted: runs, noise floor, machine load."""
    if comparison is None:
        return (
            "Measurement: one run per configuration — no interval and no noise floor, so "
            "no change below is called better or worse"
        )
    first = comparison.runs[comparison.names[0]][0]
    return (
        f"Measurement: {comparison.repeats} interleaved runs of {first.duration:.1f} s per "
        f"configuration (A A′ B C …, then back); noise floor, the baseline against itself on "
        f"a second server: throughput {comparison.noise_text('rps')}, p95 "
        f"{comparison.noise_text('p95_ms')}; {comparison.load_text()}. A change is called "
        "better or worse only when its 95% interval clears the noise floor"
    )


def summary_section(
    base: LoadResult,
    tuned: LoadResult,
    note: Mapping[str, Any],
    comparison: InterleavedComparison | None = None,
) -> list[Block]:
    if comparison is None:
        speedup = tuned.rps / base.rps if base.rps else math.nan
        summary = (
            f"Throughput went from **{rps(base.rps)}** to **{rps(tuned.rps)}** "
            f"(×{speedup:.1f}); p95 latency from **{ms(base.p95)}** to **{ms(tuned.p95)}**; "
            f"error rate from {pct(base.error_rate)} to {pct(tuned.error_rate)}. "
            "Each figure comes from a single run, so none of these changes is called "
            "better or worse."
        )
        blocks: list[Block] = [Heading(2, "Executive summary"), Paragraph(summary)]
    else:
        overall = comparison.overall
        throughput, p95 = overall["rps"], overall["p95_ms"]
        summary = (
            f"Throughput went from **{rps(base.rps)}** to **{rps(tuned.rps)}**: "
            f"{effect(throughput)}; p95 latency from **{ms(base.p95)}** to "
            f"**{ms(tuned.p95)}**: {effect(p95)} ({throughput.basis()}); error rate from "
            f"{pct(base.error_rate)} to {pct(tuned.error_rate)}. Noise floor on this machine "
            f"during the run: throughput {comparison.noise_text('rps')}."
        )
        winner = comparison.largest_contribution()
        if winner is not None:
            won = comparison.effect(winner)
            verdict = (
                f"Largest contribution: **{winner}**, throughput {won.interval()} on its own "
                f"step — its whole interval above the noise floor and above every other step's."
            )
        else:
            verdict = (
                "Largest contribution: none can be named — no step's interval lies clear of "
                "the noise floor and of every other step's interval."
            )
        blocks = [Heading(2, "Executive summary"), Paragraph(summary), Paragraph(verdict)]
    if note.get("summary"):
        blocks.append(Paragraph(str(note["summary"])))
    return blocks


def baseline_section(base: LoadResult) -> list[Block]:
    return [Heading(2, "Baseline per endpoint"), Table(ENDPOINT_COLUMNS, _endpoint_rows(base))]


def steps_section(
    base: LoadResult,
    steps: Sequence[tuple[str, LoadResult]],
    figures: dict[str, float],
    comparison: InterleavedComparison | None = None,
) -> list[Block]:
    """Each optimisation against the step before it; records ``step.<name>.*`` figures."""
    blocks: list[Block] = [Heading(2, "Optimisations, one at a time")]
    effects = effects_by_step(comparison)
    if steps:
        rows, previous = [], base
        for name, step in steps:
            measured = effects.get(name)
            if measured is not None:
                impact_rps = effect(measured["rps"])
                impact_p95 = effect(measured["p95_ms"])
                basis = measured["rps"].basis()
            else:
                impact_rps = change(previous.rps, step.rps, lower_is_better=False)
                impact_p95 = change(previous.p95, step.p95, lower_is_better=True)
                basis = f"1+1 runs, {previous.overall.count:,}+{step.overall.count:,} requests"
            rows.append(
                (
                    name,
                    f"{rps(previous.rps)} → {rps(step.rps)}",
                    impact_rps,
                    f"{ms(previous.p95)} → {percentile(step.p95, 'p95_ms', step.overall.count)}",
                    impact_p95,
                    basis,
                )
            )
            figures[f"step.{name}.rps"] = step.rps
            figures[f"step.{name}.p95_ms"] = step.p95
            previous = step
        blocks.append(
            Table(
                ("added", "throughput", "impact [95% interval]", "p95", "impact", "rests on"),
                tuple(rows),
            )
        )
        if comparison is not None:
            blocks.append(
                Paragraph(
                    f"Each impact is the median of {comparison.repeats} runs over the median "
                    "of the step before, with a 95% bootstrap interval; the noise floor "
                    f"(baseline against itself) was {comparison.noise_text('rps')} for "
                    f"throughput and {comparison.noise_text('p95_ms')} for p95."
                )
            )
    else:
        blocks.append(
            Paragraph(
                "Only the baseline and the final run were measured; run the steps one at "
                "a time (`labkit optimize`) to see each one's contribution."
            )
        )
    return blocks


def results_section(
    base: LoadResult, tuned: LoadResult, comparison: InterleavedComparison | None = None
) -> list[Block]:
    blocks: list[Block] = [Heading(2, "Results summary")]
    overall = comparison.overall if comparison is not None else {}
    summary_rows = []
    for label, name, lower in (
        ("p50", "p50_ms", True),
        ("p95", "p95_ms", True),
        ("p99", "p99_ms", True),
        ("throughput", "rps", False),
        ("error rate", "error_rate", True),
    ):
        show = rps if name == "rps" else pct if name == "error_rate" else ms
        before, now = base.figure(name), tuned.figure(name)
        if name in overall:
            shown = effect(overall[name])
        elif comparison is not None and before and not math.isnan(before):
            shown = f"×{now / before:.2f} (no interval: not tested)"
        else:
            shown = change(before, now, lower_is_better=lower)
        summary_rows.append(
            (label, show(before), show(now), shown, _basis(base, tuned, name, comparison))
        )
    blocks.append(Table(("metric", "before", "after", "change", "rests on"), tuple(summary_rows)))
    blocks.append(Table(ENDPOINT_COLUMNS, _endpoint_rows(tuned)))
    flagged = [
        f"`{row['endpoint']}` {name[:3]} ({row['requests']} requests)"
        for result in (base, tuned)
        for row in result.rows()
        for name in ("p95_ms", "p99_ms")
        if few_samples(name, row["requests"])
    ]
    if flagged:
        blocks.append(
            Paragraph(
                f"Marked “{FEW_SAMPLES}”: a p99 from fewer than 100 samples or a p95 from "
                f"fewer than 20 is one or two requests, not a tail — {', '.join(flagged[:6])}"
                + (f" and {len(flagged) - 6} more" if len(flagged) > 6 else "")
                + ". Run longer for those."
            )
        )
    return blocks


def _basis(
    base: LoadResult, tuned: LoadResult, name: str, comparison: InterleavedComparison | None
) -> str:
    runs = comparison.repeats if comparison is not None else 1
    text = f"{runs}+{runs} runs, {base.overall.count:,}+{tuned.overall.count:,} requests"
    if name in ("p95_ms", "p99_ms") and any(
        few_samples(name, r.overall.count) for r in (base, tuned)
    ):
        text += f" ({FEW_SAMPLES})"
    return text


def resources_section(base: LoadResult, tuned: LoadResult) -> list[Block]:
    blocks: list[Block] = [Heading(2, "Resource use")]
    resource_rows = []
    for label, result in (("baseline", base), ("after", tuned)):
        server = result.server or {}
        lag = server.get("loop_lag_ms_max")
        resource_rows.append(
            (
                label,
                f"{server['cpu_percent_mean']:.0f}% (max {server['cpu_percent_max']:.0f}%)"
                if server
                else "not sampled",
                f"{server['rss_mb_max']:.0f} MiB" if server else "not sampled",
                f"{lag:.1f} ms" if lag is not None else "not sampled",
                f"{result.generator_cpu_percent:.0f}%"
                if result.generator_cpu_percent is not None
                else "not sampled",
            )
        )
    blocks.append(
        Table(
            ("run", "server CPU", "server RSS", "max event-loop lag", "load-generator CPU"),
            tuple(resource_rows),
        )
    )
    return blocks


def totals_section(
    base: LoadResult, tuned: LoadResult, steps: Sequence[tuple[str, LoadResult]]
) -> list[Block]:
    blocks: list[Block] = [Heading(2, "Load-test totals")]
    totals = []
    for label, result in (("baseline", base), ("after", tuned), *steps):
        overall = result.overall
        totals.append(
            (
                label,
                f"{overall.count:,}",
                f"{overall.errors:,}",
                f"{result.duration:.1f} s",
                f"{overall.bytes_received / 2**20:,.1f} MiB",
                "complete" if result.complete else f"partial: {result.aborted}",
            )
        )
    blocks.append(
        Table(("run", "requests", "errors", "measured", "received", "status"), tuple(totals))
    )
    warnings = [
        f"{label}: {w}" for label, r in (("baseline", base), ("after", tuned)) for w in r.warnings
    ]
    if warnings:
        blocks.append(Bullets(tuple(warnings)))
    return blocks


def claims_section(
    base: LoadResult,
    tuned: LoadResult,
    claims: object,
    figures: dict[str, float],
    comparison: InterleavedComparison | None = None,
) -> list[Block]:
    """Claimed vs measured, when ``claims`` are given; records the claimed figures."""
    if not claims:
        return []
    if not isinstance(claims, Mapping):
        raise ReportError("claims must map a figure (rps, p95_ms, ...) to (before, after)")
    words = {m: e.word for m, e in comparison.overall.items()} if comparison else None
    table, claimed = claims_table(base, tuned, claims, words)
    figures |= claimed
    return [
        Heading(2, "Claimed vs measured"),
        Paragraph(
            "Figures quoted elsewhere beside this run's baseline → after. Another API on "
            "other hardware: compare the direction, not the exact multiple."
        ),
        table,
    ]
