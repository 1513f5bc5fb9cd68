"""A class at scale: shards then merge, re-runs that skip unchanged work, crashed workers."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest

from labkit.cli import main
from labkit.grading.batch import FAILED_TO_START, check_notebooks
from labkit.grading.gradebook import load_report
from labkit.grading.result import PASSED
from tests.test_grading_batch import DEFINE, EXPECTED
from tests.test_grading_class import CHECK_TOP, IMPORTS, STUBS, TOP_AUTHORS, write

pytestmark = pytest.mark.notebooks


def test_shards_merge_into_the_whole_class_and_reruns_skip_unchanged(tmp_path: Path) -> None:
    folder = tmp_path / "class"
    for name in ("ann", "ben", "cat"):
        write(folder, f"{name}_00_start.ipynb", IMPORTS + TOP_AUTHORS, CHECK_TOP)
    write(folder, "dan_00_start.ipynb", IMPORTS + STUBS, CHECK_TOP)
    common = ["check", str(folder), "-j", "2", "--budget", "60", "--no-progress"]
    for i in (1, 2):
        main([*common, "--shard", f"{i}/2", "--json", str(tmp_path / f"results-{i}.json")])
    out = tmp_path / "gradebook"
    files = [str(tmp_path / "results-1.json"), str(tmp_path / "results-2.json")]
    assert main(["check", "merge", *files, "-o", str(out)]) == 0
    with (out / "gradebook.csv").open(newline="") as f:
        table = {r["student"]: r["00.top_authors"] for r in csv.DictReader(f)}
    assert table == {"ann": "1", "ben": "1", "cat": "1", "dan": "0"}
    shard = load_report(tmp_path / "results-1.json")
    assert [r.student for r in shard.runs] == ["ann", "cat"]  # sorted paths, every 2nd one

    # an unchanged file keeps its result (not run again); a changed one, or --force, runs again
    seconds = shard.runs[0].seconds
    write(folder, "cat_00_start.ipynb", IMPORTS + STUBS, CHECK_TOP)
    main([*common, "--shard", "1/2", "--json", str(tmp_path / "results-1.json")])
    rerun = {r.student: r for r in load_report(tmp_path / "results-1.json").runs}
    assert rerun["cat"].rows[0].verdict == "not yet"
    assert rerun["ann"].rows[0].verdict == PASSED and rerun["ann"].seconds == seconds
    main([*common, "--shard", "1/2", "--json", str(tmp_path / "results-1.json"), "--force"])
    forced = {r.student: r for r in load_report(tmp_path / "results-1.json").runs}
    assert forced["ann"].seconds != seconds


def test_a_crashed_worker_costs_only_its_own_submission(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # where the run folders go
    folder = tmp_path / "class"
    write(
        folder,
        "a_98_demo.ipynb",
        DEFINE,
        "def double(x):\n    return 2 * x\ncheck('98.double', double)",
    )
    # in process isolation the kernel can reach its worker: it kills it
    write(
        folder,
        "b_98_demo.ipynb",
        DEFINE,
        "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)",
    )
    write(folder, "c_98_demo.ipynb", DEFINE, "check('98.double', lambda x: x + x)")
    report = check_notebooks([folder], budget=60, registry=EXPECTED, jobs=2, isolation="process")
    by_name = {run.path.name: run for run in report.runs}
    assert by_name["b_98_demo.ipynb"].status == FAILED_TO_START
    assert "grading worker exited" in by_name["b_98_demo.ipynb"].detail
    assert [r.verdict for r in by_name["b_98_demo.ipynb"].rows] == ["not run", "not run"]
    assert by_name["a_98_demo.ipynb"].rows[0].verdict == PASSED
    assert by_name["c_98_demo.ipynb"].rows[0].verdict == PASSED
    assert not list(scratch.iterdir())  # the killed worker's run folder is gone too


def test_an_interrupt_stops_every_worker_and_kernel(tmp_path: Path) -> None:
    for name in ("a", "b"):
        write(tmp_path, f"{name}_00_start.ipynb", "while True:\n    pass")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    env = {
        **os.environ,
        "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
        "TMPDIR": str(scratch),
    }
    grading = subprocess.Popen(
        [sys.executable, "-m", "labkit", "check", str(tmp_path), "-j", "2", "--no-progress",
         "--isolation", "process", "--csv", str(tmp_path / "r.csv")],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(kernels := _kernels_of(grading.pid)) < 2:
        time.sleep(0.5)
    assert len(kernels) == 2, "the kernels did not start"
    grading.send_signal(signal.SIGINT)
    _, err = grading.communicate(timeout=30)
    assert grading.returncode == 130 and "interrupted" in err
    time.sleep(0.5)
    assert not any(_alive(pid) for pid in kernels)
    assert not (tmp_path / "r.csv").exists()  # nothing half-written
    assert not list(scratch.iterdir())  # no run folder left behind


def _kernels_of(pid: int) -> list[int]:
    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []
    return [c.pid for c in children if "ipykernel_launcher" in " ".join(c.cmdline())]


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False
