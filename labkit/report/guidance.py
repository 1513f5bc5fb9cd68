"""Report sections about running the result: trade-offs, alert thresholds, next steps."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final

from labkit.load.result import OVERALL, LoadResult
from labkit.report.blocks import Block, Bullets, Heading, Paragraph, Table
from labkit.report.formatting import ms, pct
from labkit.report.limits import MemoryLimit

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


def _cache_hit_rate(result: LoadResult) -> float:
    counters = (result.server or {}).get("counters") or {}
    hits = counters.get("cache_hits_l1", 0) + counters.get("cache_hits_l2", 0)
    total = hits + counters.get("cache_misses", 0)
    return hits / total if total else math.nan


def trade_offs_section(tuned: LoadResult, note: Mapping[str, Any]) -> list[Block]:
    blocks: list[Block] = [Heading(2, "Trade-offs")]
    enabled = [
        name for name in TRADE_OFFS if name in tuned.environment.get("optimize", "").split(",")
    ] or (list(TRADE_OFFS) if tuned.environment.get("optimize") == "all" else [])
    trade = [f"**{name}**: {TRADE_OFFS[name]}" for name in enabled]
    trade += [str(t) for t in note.get("trade_offs", [])]
    blocks.append(Bullets(tuple(trade)) if trade else Paragraph("No optimisation recorded as on."))
    return blocks


def monitoring_section(
    tuned: LoadResult, limit: MemoryLimit, figures: dict[str, float]
) -> list[Block]:
    """Each alert signal, its threshold and its value now; records the figures it shows."""
    blocks: list[Block] = [Heading(2, "Monitoring and alert thresholds")]
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
    return blocks


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


def next_steps_section(tuned: LoadResult, priority: str, note: Mapping[str, Any]) -> list[Block]:
    return [Heading(2, "Next steps"), Bullets(tuple(_next_steps(tuned, priority, note)))]


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
