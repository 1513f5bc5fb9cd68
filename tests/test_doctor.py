"""labkit doctor: a table of checks, failing with advice when something is missing."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from labkit import doctor
from labkit.commands import doctor as doctor_command
from labkit.data import ensure


def test_missing_dataset_fails_with_advice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABKIT_DATA", str(tmp_path))
    check = doctor.check_dataset("tiny", 42)
    assert check.status == "fail" and "is missing" in check.detail
    assert "labkit data build --size tiny" in check.advice


def test_present_dataset_matches_the_manifest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LABKIT_DATA", str(tmp_path))
    ensure("tiny", 42)
    check = doctor.check_dataset("tiny", 42)
    assert check.status == "ok" and "matches the manifest" in check.detail


def test_report_frame_and_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABKIT_DATA", str(tmp_path))
    report = doctor.run_checks()
    frame = report.to_frame()
    assert list(frame.columns) == ["check", "status", "detail", "advice"]
    assert set(frame["check"]) >= {"python", "packages", "dataset (small)", "network"}
    assert not report.ok  # the small dataset is not in this empty folder
    assert "not ready" in str(report) and "<table>" in report._repr_html_()


def test_missing_package_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(doctor, "PACKAGES", (*doctor.PACKAGES, "surely-not-installed-pkg"))
    check = doctor.check_packages()
    assert check.status == "fail" and "surely-not-installed-pkg" in check.detail


def test_memray_absent_on_windows_is_only_a_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(doctor.sys, "platform", "win32")
    check = doctor.check_profilers()
    assert check.status == "warn" and "tracemalloc" in check.advice


def test_a_crashing_check_does_not_hide_the_others(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> doctor.Check:
        raise RuntimeError("boom")

    monkeypatch.setattr(doctor, "CHECKS", (broken, doctor.check_python))
    report = doctor.run_checks()
    assert [c.status for c in report.checks] == ["fail", "ok"]


def test_command_exit_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LABKIT_DATA", str(tmp_path))
    parser = argparse.ArgumentParser()
    doctor_command.register(parser.add_subparsers())
    args = parser.parse_args(["doctor"])
    assert args.func(args) == 1
    assert "labkit data build --size small" in capsys.readouterr().out
