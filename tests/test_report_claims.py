"""Memory against its limit, and claimed vs measured, in the report."""

from __future__ import annotations

from pathlib import Path

import psutil
import pytest

from labkit.cli import main
from labkit.errors import ReportError
from labkit.report import build_report
from labkit.report.claims import Claim, claims_table
from labkit.report.limits import memory_limit
from tests.test_report import AFTER, BASE


def monitoring(markdown: str) -> str:
    return markdown.split("## Monitoring")[1].split("## ")[0]


def memory_line(markdown: str) -> str:
    return next(line for line in monitoring(markdown).splitlines() if line.startswith("| memory"))


def test_memory_row_shows_the_fraction_and_alerts_over_80_percent() -> None:
    calm = build_report(BASE, AFTER, plots=False, memory_limit_mb=1000)  # 60 MiB peak RSS
    line = memory_line(calm.markdown)
    assert "60 MiB RSS (6.0%)" in line and "1,000 MiB given" in line and "| OK |" in line
    assert calm.figures["after.memory_fraction"] == pytest.approx(0.06)
    tight = build_report(BASE, AFTER, plots=False, memory_limit_mb=70)  # 86% of the limit
    assert "(85.7%)" in memory_line(tight.markdown) and "**ALERT**" in memory_line(tight.markdown)
    with pytest.raises(ReportError, match="memory_limit_mb must be > 0"):
        build_report(BASE, AFTER, plots=False, memory_limit_mb=0)


def test_default_memory_limit_is_the_cgroup_limit_else_ram(tmp_path: Path) -> None:
    ram_mb = psutil.virtual_memory().total / 2**20
    v2 = tmp_path / "v2"
    v2.mkdir()
    (v2 / "memory.max").write_text("536870912\n")  # 512 MiB
    assert memory_limit(root=v2).mb == 512 and memory_limit(root=v2).source == "cgroup limit"
    (v2 / "memory.max").write_text("max\n")
    assert memory_limit(root=v2).source == "total RAM"
    v1 = tmp_path / "v1"
    (v1 / "memory").mkdir(parents=True)
    (v1 / "memory" / "memory.limit_in_bytes").write_text("9223372036854771712\n")  # unlimited
    assert memory_limit(root=v1).mb == pytest.approx(ram_mb)
    (v1 / "memory" / "memory.limit_in_bytes").write_text(str(2**30))
    assert memory_limit(root=v1).mb == 1024
    assert memory_limit(root=tmp_path / "none").source == "total RAM"
    report = build_report(BASE, AFTER, plots=False)  # this machine's own default
    assert "of " in memory_line(report.markdown) and "MiB" in memory_line(report.markdown)


def test_claimed_vs_measured_table() -> None:
    claims: dict[str, Claim] = {"rps": (85, 320), "p95_ms": (1100, 180), "error_rate": 0.001}
    report = build_report(BASE, AFTER, plots=False, claims=claims)
    section = report.markdown.split("## Claimed vs measured")[1].split("\n## ")[0]
    # one run each: no interval, so the direction is not called either way
    assert (
        "| throughput | 85.0 req/s → 320 req/s (×3.76) | 100 req/s → 1,000 req/s (×10.00) "
        "| not tested (no interval) |" in section
    )
    p95_line = next(line for line in section.splitlines() if line.startswith("| p95 latency"))
    assert "1,100 ms → 180 ms (×0.16)" in p95_line
    assert "| error rate | 0.10% |" in section and section.rstrip().endswith("| n/a |")
    assert report.figures["claim.rps.measured_ratio"] == pytest.approx(10.0)
    # with the words of interleaved runs: agreeing, opposite, and inside the noise
    for word, said, expected in (
        ("better", (85, 320), "| yes |"),
        ("better", (320, 85), "| no |"),
        ("no clear effect", (85, 320), "| unclear (within the noise) |"),
    ):
        table, _ = claims_table(BASE, AFTER, {"rps": said}, {"rps": word})
        assert table.rows[0][-1] == expected.strip("| ").strip()
    assert "Claimed vs measured" not in build_report(BASE, AFTER, plots=False).markdown
    with pytest.raises(ReportError, match="unknown claimed figure"):
        build_report(BASE, AFTER, plots=False, claims={"speed": 3})
    with pytest.raises(ReportError, match="must be a number"):
        build_report(BASE, AFTER, plots=False, claims={"rps": "fast"})  # type: ignore[dict-item]


def test_cli_reads_claims_from_notes_and_a_memory_limit(tmp_path: Path) -> None:
    BASE.to_json(tmp_path / "base.json")
    AFTER.to_json(tmp_path / "after.json")
    (tmp_path / "notes.yml").write_text("claims:\n  rps: [85, 320]\n")
    out = tmp_path / "r.md"
    code = main(
        [
            "report",
            str(tmp_path / "base.json"),
            str(tmp_path / "after.json"),
            "--notes",
            str(tmp_path / "notes.yml"),
            "--memory-limit-mb",
            "100",
            "--no-plots",
            "-o",
            str(out),
        ]
    )
    text = out.read_text()
    assert code == 0 and "## Claimed vs measured" in text and "(60.0%)" in text
