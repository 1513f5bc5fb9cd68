"""The optimisation report: complete, and every number it shows comes from the results."""

from __future__ import annotations

from pathlib import Path

import pytest

from labkit.cli import main
from labkit.errors import ReportError
from labkit.load.result import EndpointLoad, LoadResult
from labkit.report import SECTIONS, build_report
from labkit.report.formatting import ms, rps


def result(
    latencies_ms: dict[str, list[float]],
    *,
    errors: int = 0,
    optimize: str = "none",
    duration: float = 2.0,
) -> LoadResult:
    endpoints = {}
    for name, values in latencies_ms.items():
        load = EndpointLoad()
        for value in values:
            load.response.record(value / 1000)
        load.ok = len(values) - errors
        load.errors = errors
        load.statuses["200"] = load.ok
        endpoints[name] = load
    return LoadResult(
        target="http://127.0.0.1:1",
        mode="closed",
        duration=duration,
        warmup=1.0,
        endpoints=endpoints,
        vus=10,
        started_at="2025-01-02T03:04:05+00:00",
        server={
            "cpu_percent_mean": 80.0,
            "cpu_percent_max": 95.0,
            "rss_mb_max": 60.0,
            "loop_lag_ms_max": 12.5,
            "counters": {"cache_hits_l1": 9, "cache_misses": 1},
        },
        environment={"optimize": optimize, "workers": "1"},
    )


BASE = result({"/api/feed": [400.0] * 90 + [900.0] * 10, "/api/users": [20.0] * 100}, errors=2)
AFTER = result(
    {"/api/feed": [5.0] * 900 + [30.0] * 100, "/api/users": [4.0] * 1000}, optimize="all"
)


def test_report_has_every_section_and_the_measured_numbers() -> None:
    report = build_report(BASE, AFTER, steps=[("+cache", AFTER)], plots=False)
    for section in SECTIONS:
        assert f"## {section}" in report.markdown, section
    assert report.figures["baseline.rps"] == BASE.rps == 100.0  # 200 requests / 2 s
    assert report.figures["after.rps"] == AFTER.rps == 1000.0
    for number in (rps(BASE.rps), rps(AFTER.rps), ms(BASE.p95), ms(AFTER.p95), ms(AFTER.p99)):
        assert number in report.markdown, number
    assert "×10.0" in report.markdown  # throughput ratio in the summary
    assert "FastAPI" in report.markdown and "uvicorn" in report.markdown
    assert "2025-01-02" in report.markdown
    assert "90.00%" in report.markdown  # cache hit rate from the server counters
    assert "**cache**" in report.markdown  # trade-offs of what was on


def test_alerts_follow_the_measurements() -> None:
    report = build_report(BASE, BASE, plots=False)
    assert "**ALERT**" in report.markdown  # p95 900 ms > 500 ms, errors 2% > 1%
    assert "`/api/feed` is over a threshold" in report.markdown
    calm = build_report(BASE, AFTER, plots=False)
    monitoring = calm.markdown.split("## Monitoring")[1].split("## Next steps")[0]
    assert "ALERT" not in monitoring


def test_notes_are_included(tmp_path: Path) -> None:
    notes = tmp_path / "notes.yml"
    notes.write_text("title: Feed tuning\nauthor: Ada\nnext_steps: [shard the comments]\n")
    report = build_report(BASE, AFTER, notes=notes, plots=False)
    assert report.markdown.startswith("# Feed tuning")
    assert "Author: Ada" in report.markdown and "[high] shard the comments" in report.markdown
    notes.write_text("- just a list\n")
    with pytest.raises(ReportError, match="must be a mapping"):
        build_report(BASE, AFTER, notes=notes, plots=False)


def test_save_markdown_with_plots_and_html(tmp_path: Path) -> None:
    report = build_report(BASE, AFTER, steps=[("+cache", AFTER)])
    md = report.save(tmp_path / "out" / "report.md")
    assert (tmp_path / "out" / "report_files" / "latency_cdf.png").stat().st_size > 0
    assert "](report_files/latency_cdf.png)" in md.read_text()
    page = report.save(tmp_path / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 3 and "<table>" in page


def test_cli_report_from_result_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    BASE.to_json(tmp_path / "base.json")
    AFTER.to_json(tmp_path / "after.json")
    code = main(
        [
            "report",
            str(tmp_path / "base.json"),
            str(tmp_path / "after.json"),
            "--step",
            f"+all={tmp_path / 'after.json'}",
            "--no-plots",
            "-o",
            str(tmp_path / "r.md"),
        ]
    )
    assert code == 0 and "wrote" in capsys.readouterr().out
    assert rps(AFTER.rps) in (tmp_path / "r.md").read_text()
    assert main(["report", str(tmp_path / "nope.json"), str(tmp_path / "after.json")]) == 2
    assert "cannot read load result" in capsys.readouterr().err


def test_charts_carry_alt_text_that_states_what_they_draw(tmp_path: Path) -> None:
    """A reader who cannot see a chart gets its figures: the alt text is built from the same
    results as the chart (HTML ``alt`` and the Markdown image's text)."""
    report = build_report(BASE, AFTER, steps=[("+cache", AFTER)])
    page = report.save(tmp_path / "report.html").read_text()
    md = report.save(tmp_path / "out" / "report.md").read_text()
    percentiles = f"p95 {ms(BASE.p95)} → {ms(AFTER.p95)}"
    throughput = f"baseline {rps(BASE.rps)}, +cache {rps(AFTER.rps)}"
    for text in (page, md):
        assert percentiles in text and throughput in text
    assert page.count('<img alt="Bar chart of') == 2 and page.count('<img alt="Line chart') == 1
    assert f"![Bar chart of latency percentiles, baseline and after: p50 {ms(BASE.p50)}" in md
