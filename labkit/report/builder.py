"""``build_report``: the Backend Optimisation Report, from measured load results only."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from labkit.display import TextView
from labkit.errors import LoadError
from labkit.load.environment import detect_environment
from labkit.load.result import OVERALL, LoadResult
from labkit.report.blocks import (
    Block,
    Bullets,
    Figure,
    Heading,
    Paragraph,
    Table,
    figure_png,
    to_html,
    to_markdown,
)
from labkit.report.claims import Claim, claims_table
from labkit.report.limits import MemoryLimit, memory_limit

PRIORITIES: Final = ("low", "medium", "high", "critical")
# Alert thresholds the course recommends (policy, not measurements).
ALERTS: Final = {
    "p95_ms": 500.0,
    "error_rate": 0.01,
    "cache_hit_rate": 0.70,
    "loop_lag_ms": 50.0,
    "memory_fraction": 0.80,
}
TRADE_OFFS: Final[dict[str, str]] = {
    "eager_loading": "one larger query per request; fetches author columns even when a client "
    "would not show them",
    "cache": "responses can be stale for up to the L1/L2 TTL in other worker processes; every "
    "write path must invalidate; memory and disk for the stores",
    "dedupe": "followers wait for the leader's load: one slow load delays them all; errors are "
    "shared too",
    "compression": "CPU per response; small responses (< 1 KB) are sent as they are",
    "keyset": "cursor pages cannot jump to page N; the sort key must be unique (id tie-break)",
    "fast_json": "another dependency (orjson); output is compact bytes only",
    "streaming": "a failure mid-stream cannot change the status code already sent; no "
    "Content-Length, so clients cannot show progress",
    "rate_limit": "legitimate bursts get 429; counts per worker unless shared",
    "indexes": "extra disk, slower writes to indexed tables",
}
SECTIONS: Final = (
    "Context",
    "Executive summary",
    "Baseline per endpoint",
    "Optimisations, one at a time",
    "Results summary",
    "Resource use",
    "Load-test totals",
    "Trade-offs",
    "Monitoring and alert thresholds",
    "Next steps",
)


def ms(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:,.1f} ms"


def rps(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:,.0f} req/s"


def pct(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.2%}"


def change(before: float, after: float, *, lower_is_better: bool) -> str:
    if math.isnan(before) or math.isnan(after) or before == 0:
        return "n/a"
    ratio = after / before
    better = ratio < 1 if lower_is_better else ratio > 1
    word = "better" if better else ("same" if ratio == 1 else "worse")
    return f"×{ratio:.2f} ({word})"


@dataclass
class Report(TextView):
    """The report as Markdown and HTML, plus every figure it quotes (for checks)."""

    markdown: str
    html: str
    figures: dict[str, float] = field(default_factory=dict)
    images: dict[str, bytes] = field(default_factory=dict)

    def save(self, path: str | Path) -> Path:
        """Write ``path`` (.md with its plots in ``<stem>_files/``, or .html self-contained)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix.lower() in (".html", ".htm"):
            path.write_text(self.html)
            return path
        figure_dir = path.parent / f"{path.stem}_files"
        if self.images:
            figure_dir.mkdir(exist_ok=True)
            for name, png in self.images.items():
                (figure_dir / name).write_bytes(png)
        path.write_text(self.markdown.replace("](figures/", f"]({figure_dir.name}/"))
        return path

    def _repr_html_(self) -> str:
        return self.html

    def __str__(self) -> str:
        return self.markdown


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


def _cache_hit_rate(result: LoadResult) -> float:
    counters = (result.server or {}).get("counters") or {}
    hits = counters.get("cache_hits_l1", 0) + counters.get("cache_hits_l2", 0)
    total = hits + counters.get("cache_misses", 0)
    return hits / total if total else math.nan


def _plots(
    baseline: LoadResult, after: LoadResult, steps: Sequence[tuple[str, LoadResult]]
) -> list[Figure]:
    import matplotlib.pyplot as plt

    from labkit.plots import before_after_bars, latency_cdf

    figures = []
    fig, ax = plt.subplots(figsize=(7, 3.5))
    latency_cdf({"baseline": baseline, "after": after}, ax=ax)
    figures.append(Figure("latency_cdf.png", figure_png(fig), "Latency CDF, baseline vs after"))
    fig, ax = plt.subplots(figsize=(6, 3.5))
    names = ("p50_ms", "p95_ms", "p99_ms")
    before_after_bars(
        {n: baseline.figure(n) for n in names},
        {n: after.figure(n) for n in names},
        ax=ax,
        labels=("baseline", "after"),
        ylabel="ms",
        title="Latency percentiles",
    )
    figures.append(Figure("percentiles.png", figure_png(fig), "p50/p95/p99 before and after"))
    if steps:
        fig, ax = plt.subplots(figsize=(7, 3.5))
        labels = ["baseline", *(name for name, _ in steps)]
        values = [baseline.rps, *(step.rps for _, step in steps)]
        ax.bar(labels, values)
        ax.set_ylabel("req/s")
        ax.set_title("Throughput as optimisations are added")
        ax.tick_params(axis="x", rotation=30)
        figures.append(Figure("throughput_steps.png", figure_png(fig), "Throughput per step"))
    return figures


def build_report(
    baseline: LoadResult | str | Path,
    after: LoadResult | str | Path,
    *,
    steps: Sequence[tuple[str, LoadResult]] | None = None,
    notes: Mapping[str, Any] | str | Path | None = None,
    priority: str = "high",
    title: str = "Backend Optimisation Report",
    plots: bool = True,
    memory_limit_mb: float | None = None,
    claims: Mapping[str, Claim] | None = None,
) -> Report:
    """Build the report from a baseline run and a tuned run (results or JSON paths).

    ``steps`` are ``(optimisation, result)`` pairs measured one at a time (cumulative), each
    compared with the step before. ``notes`` (a dict or a YAML file) adds the author's own
    words: ``title``, ``author``, ``summary``, ``trade_offs`` and ``next_steps`` lists, and
    ``claims`` when the argument is not given.

    The memory alert compares the server's peak RSS with ``memory_limit_mb`` (default: the
    cgroup memory limit when one is set, else total RAM). ``claims`` maps ``rps``, ``p50_ms``,
    ``p95_ms``, ``p99_ms`` or ``error_rate`` to a figure quoted elsewhere — ``(before, after)``
    or the after figure alone — and adds a "Claimed vs measured" section.
    """
    base = baseline if isinstance(baseline, LoadResult) else LoadResult.from_json(baseline)
    tuned = after if isinstance(after, LoadResult) else LoadResult.from_json(after)
    if priority not in PRIORITIES:
        raise LoadError(f"priority must be one of {', '.join(PRIORITIES)}, got {priority!r}")
    note = _read_notes(notes)
    limit = memory_limit(memory_limit_mb)
    steps = list(steps or [])
    title = str(note.get("title", title))
    env = {**detect_environment(), **base.environment}
    figures: dict[str, float] = {}
    for label, result in (("baseline", base), ("after", tuned)):
        for name in ("rps", "p50_ms", "p95_ms", "p99_ms", "error_rate"):
            figures[f"{label}.{name}"] = result.figure(name)

    blocks: list[Block] = [Heading(1, title)]
    date = (base.started_at or dt.datetime.now(dt.UTC).isoformat())[:10]
    blocks += [
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
    speedup = tuned.rps / base.rps if base.rps else math.nan
    summary = (
        f"Throughput went from **{rps(base.rps)}** to **{rps(tuned.rps)}** "
        f"(×{speedup:.1f}); p95 latency from **{ms(base.p95)}** to **{ms(tuned.p95)}**; "
        f"error rate from {pct(base.error_rate)} to {pct(tuned.error_rate)}."
    )
    blocks += [Heading(2, "Executive summary"), Paragraph(summary)]
    if note.get("summary"):
        blocks.append(Paragraph(str(note["summary"])))
    columns = ("endpoint", "requests", "throughput", "p50", "p95", "p99", "errors")
    blocks += [Heading(2, "Baseline per endpoint"), Table(columns, _endpoint_rows(base))]

    blocks.append(Heading(2, "Optimisations, one at a time"))
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

    blocks.append(Heading(2, "Results summary"))
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
    blocks.append(Table(columns, _endpoint_rows(tuned)))

    blocks.append(Heading(2, "Resource use"))
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
    blocks.append(Heading(2, "Load-test totals"))
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

    blocks.append(Heading(2, "Trade-offs"))
    enabled = [
        name for name in TRADE_OFFS if name in tuned.environment.get("optimize", "").split(",")
    ] or (list(TRADE_OFFS) if tuned.environment.get("optimize") == "all" else [])
    trade = [f"**{name}**: {TRADE_OFFS[name]}" for name in enabled]
    trade += [str(t) for t in note.get("trade_offs", [])]
    blocks.append(Bullets(tuple(trade)) if trade else Paragraph("No optimisation recorded as on."))

    blocks.append(Heading(2, "Monitoring and alert thresholds"))
    hit_rate = _cache_hit_rate(tuned)
    lag_now = (tuned.server or {}).get("loop_lag_ms_max")
    monitor_rows = [
        (
            "p95 latency",
            f"> {ALERTS['p95_ms']:g} ms",
            ms(tuned.p95),
            _ok(tuned.p95 <= ALERTS["p95_ms"]),
        ),
        (
            "error rate",
            f"> {ALERTS['error_rate']:.0%}",
            pct(tuned.error_rate),
            _ok(tuned.error_rate <= ALERTS["error_rate"]),
        ),
        (
            "cache hit rate",
            f"< {ALERTS['cache_hit_rate']:.0%}",
            pct(hit_rate),
            "n/a" if math.isnan(hit_rate) else _ok(hit_rate >= ALERTS["cache_hit_rate"]),
        ),
        (
            "event-loop lag",
            f"> {ALERTS['loop_lag_ms']:g} ms",
            "not sampled" if lag_now is None else f"{lag_now:.1f} ms",
            "n/a" if lag_now is None else _ok(lag_now <= ALERTS["loop_lag_ms"]),
        ),
        _memory_row(tuned, limit, figures),
    ]
    blocks.append(Table(("signal", "alert when", "measured now", "status"), tuple(monitor_rows)))
    figures["after.cache_hit_rate"] = hit_rate

    claims = claims if claims is not None else note.get("claims")
    if claims:
        if not isinstance(claims, Mapping):
            raise LoadError("claims must map a figure (rps, p95_ms, ...) to (before, after)")
        table, claimed = claims_table(base, tuned, claims)
        figures |= claimed
        blocks += [
            Heading(2, "Claimed vs measured"),
            Paragraph(
                "Figures quoted elsewhere beside this run's baseline → after. Another API on "
                "other hardware: compare the direction, not the exact multiple."
            ),
            table,
        ]

    blocks.append(Heading(2, "Next steps"))
    blocks.append(Bullets(tuple(_next_steps(tuned, priority, note))))
    if plots:
        images = _plots(base, tuned, steps)
        blocks += [Heading(2, "Charts"), *images]
    else:
        images = []
    return Report(
        markdown=to_markdown(blocks, "figures"),
        html=to_html(blocks, title),
        figures=figures,
        images={image.name: image.png for image in images},
    )


def _ok(ok: bool) -> str:
    return "OK" if ok else "**ALERT**"


def _memory_row(
    result: LoadResult, limit: MemoryLimit, figures: dict[str, float]
) -> tuple[str, ...]:
    alert_when = f"> {ALERTS['memory_fraction']:.0%} of {limit}"
    server = result.server or {}
    if not server:
        return ("memory", alert_when, "not sampled", "n/a")
    fraction = server["rss_mb_max"] / limit.mb
    figures["after.memory_fraction"] = fraction
    return (
        "memory",
        alert_when,
        f"{server['rss_mb_max']:,.0f} MiB RSS ({fraction:.1%})",
        _ok(fraction <= ALERTS["memory_fraction"]),
    )


def _next_steps(result: LoadResult, priority: str, note: Mapping[str, Any]) -> list[str]:
    steps = [f"[{priority}] {item}" for item in note.get("next_steps", [])]
    rows = sorted(
        (r for r in result.rows() if r["endpoint"] != OVERALL),
        key=lambda r: -r["p95_ms"] if not math.isnan(r["p95_ms"]) else 0,
    )
    for row in rows:
        if row["p95_ms"] > ALERTS["p95_ms"] or row["error_rate"] > ALERTS["error_rate"]:
            steps.append(
                f"[{priority}] `{row['endpoint']}` is over a threshold (p95 {ms(row['p95_ms'])}, "
                f"errors {pct(row['error_rate'])}): profile it next"
            )
    if rows:
        slowest = rows[0]
        steps.append(
            f"The slowest endpoint now is `{slowest['endpoint']}` at p95 "
            f"{ms(slowest['p95_ms'])}: the next place to look."
        )
    missing = [n for n in TRADE_OFFS if n not in result.environment.get("optimize", "").split(",")]
    if result.environment.get("optimize") != "all" and missing:
        steps.append("Not yet measured with: " + ", ".join(missing) + ".")
    steps.append("Find the breaking point (`breaking_point`) and set capacity alerts below it.")
    if result.warnings:
        steps.append("Re-run where the load generator was not saturated (see the totals).")
    return steps


def _read_notes(notes: Mapping[str, Any] | str | Path | None) -> Mapping[str, Any]:
    if notes is None:
        return {}
    if isinstance(notes, Mapping):
        return notes
    import yaml

    try:
        data = yaml.safe_load(Path(notes).read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise LoadError(f"cannot read notes {notes}: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise LoadError(f"notes {notes} must be a mapping (title:, summary:, next_steps: ...)")
    return data
