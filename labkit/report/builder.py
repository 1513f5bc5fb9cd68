"""``build_report``: the Backend Optimisation Report, from measured load results only.

This module assembles the sections in order and reads the author's notes; the sections
themselves are in ``measured`` (what was measured) and ``guidance`` (trade-offs, alerts, next
steps), the charts in ``charts`` and the ``Report`` type in ``document``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from labkit.errors import ReportError
from labkit.load.environment import detect_environment
from labkit.load.interleaved import InterleavedComparison
from labkit.load.result import LoadResult
from labkit.report.blocks import Block, Heading, to_html, to_markdown
from labkit.report.charts import charts
from labkit.report.choices import PRIORITIES
from labkit.report.claims import Claim
from labkit.report.document import Report
from labkit.report.guidance import monitoring_section, next_steps_section, trade_offs_section
from labkit.report.limits import memory_limit
from labkit.report.measured import (
    baseline_section,
    claims_section,
    context_section,
    resources_section,
    results_section,
    steps_section,
    summary_section,
    totals_section,
)

__all__ = ["SECTIONS", "build_report"]

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
    comparison: InterleavedComparison | None = None,
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

    ``comparison`` (from ``labkit.load.steps.measure_steps`` / ``compare_steps``) gives every
    step's effect as an interval over repeated, interleaved runs and the noise floor: the words
    better / worse / no clear effect come from those intervals. Without it each figure is one
    run, and the report says so instead of calling anything better or worse.
    """
    base = baseline if isinstance(baseline, LoadResult) else LoadResult.from_json(baseline)
    tuned = after if isinstance(after, LoadResult) else LoadResult.from_json(after)
    if priority not in PRIORITIES:
        raise ReportError(f"priority must be one of {', '.join(PRIORITIES)}, got {priority!r}")
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
    blocks += context_section(base, tuned, env, note, priority, comparison)
    blocks += summary_section(base, tuned, note, comparison)
    blocks += baseline_section(base)
    blocks += steps_section(base, steps, figures, comparison)
    blocks += results_section(base, tuned, comparison)
    blocks += resources_section(base, tuned)
    blocks += totals_section(base, tuned, steps)
    blocks += trade_offs_section(tuned, note)
    blocks += monitoring_section(tuned, limit, figures)
    blocks += claims_section(
        base, tuned, claims if claims is not None else note.get("claims"), figures, comparison
    )
    blocks += next_steps_section(tuned, priority, note)
    if plots:
        images = charts(base, tuned, steps)
        blocks += [Heading(2, "Charts"), *images]
    else:
        images = []
    return Report(
        markdown=to_markdown(blocks, "figures"),
        html=to_html(blocks, title),
        figures=figures,
        images={image.name: image.png for image in images},
    )


def _read_notes(notes: Mapping[str, Any] | str | Path | None) -> Mapping[str, Any]:
    if notes is None:
        return {}
    if isinstance(notes, Mapping):
        return notes
    import yaml

    try:
        data = yaml.safe_load(Path(notes).read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ReportError(f"cannot read notes {notes}: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ReportError(f"notes {notes} must be a mapping (title:, summary:, next_steps: ...)")
    return data
