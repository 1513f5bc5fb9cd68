"""Report sections that show what was measured: context, summary, per endpoint, per step,
before/after, resource use, load-test totals, and claimed figures beside measured ones."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from typing import Any, Final

from labkit.errors import LoadError
from labkit.load.result import LoadResult
from labkit.report.blocks import Block, Bullets, Heading, Paragraph, Table
from labkit.report.claims import claims_table
from labkit.report.formatting import change, ms, pct, rps

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
            ms(row["p95_ms"]),
            ms(row["p99_ms"]),
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
                    str(note["context"]) if note.get("context") else "",
                )
                if item
            )
        ),
    ]


def summary_section(base: LoadResult, tuned: LoadResult, note: Mapping[str, Any]) -> list[Block]:
    speedup = tuned.rps / base.rps if base.rps else math.nan
    summary = (
        f"Throughput went from **{rps(base.rps)}** to **{rps(tuned.rps)}** "
        f"(×{speedup:.1f}); p95 latency from **{ms(base.p95)}** to **{ms(tuned.p95)}**; "
        f"error rate from {pct(base.error_rate)} to {pct(tuned.error_rate)}."
    )
    blocks: list[Block] = [Heading(2, "Executive summary"), Paragraph(summary)]
    if note.get("summary"):
        blocks.append(Paragraph(str(note["summary"])))
    return blocks


def baseline_section(base: LoadResult) -> list[Block]:
    return [Heading(2, "Baseline per endpoint"), Table(ENDPOINT_COLUMNS, _endpoint_rows(base))]


def steps_section(
    base: LoadResult, steps: Sequence[tuple[str, LoadResult]], figures: dict[str, float]
) -> list[Block]:
    """Each optimisation against the step before it; records ``step.<name>.*`` figures."""
    blocks: list[Block] = [Heading(2, "Optimisations, one at a time")]
    if steps:
        rows, previous = [], base
        for name, step in steps:
            rows.append(
                (
                    name,
                    f"{rps(previous.rps)} → {rps(step.rps)}",
                    change(previous.rps, step.rps, lower_is_better=False),
                    f"{ms(previous.p95)} → {ms(step.p95)}",
                    change(previous.p95, step.p95, lower_is_better=True),
                )
            )
            figures[f"step.{name}.rps"] = step.rps
            figures[f"step.{name}.p95_ms"] = step.p95
            previous = step
        blocks.append(Table(("added", "throughput", "impact", "p95", "impact"), tuple(rows)))
    else:
        blocks.append(
            Paragraph(
                "Only the baseline and the final run were measured; run the steps one at "
                "a time (`labkit optimize`) to see each one's contribution."
            )
        )
    return blocks


def results_section(base: LoadResult, tuned: LoadResult) -> list[Block]:
    blocks: list[Block] = [Heading(2, "Results summary")]
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
        summary_rows.append(
            (label, show(before), show(now), change(before, now, lower_is_better=lower))
        )
    blocks.append(Table(("metric", "before", "after", "change"), tuple(summary_rows)))
    blocks.append(Table(ENDPOINT_COLUMNS, _endpoint_rows(tuned)))
    return blocks


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
    base: LoadResult, tuned: LoadResult, claims: object, figures: dict[str, float]
) -> list[Block]:
    """Claimed vs measured, when ``claims`` are given; records the claimed figures."""
    if not claims:
        return []
    if not isinstance(claims, Mapping):
        raise LoadError("claims must map a figure (rps, p95_ms, ...) to (before, after)")
    table, claimed = claims_table(base, tuned, claims)
    figures |= claimed
    return [
        Heading(2, "Claimed vs measured"),
        Paragraph(
            "Figures quoted elsewhere beside this run's baseline → after. Another API on "
            "other hardware: compare the direction, not the exact multiple."
        ),
        table,
    ]
