"""The lab server's temporary folders: removed when ``labkit serve`` gets SIGTERM, and folders of
servers whose owner died are swept by the next start."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from labkit.app import LabServer
from labkit.data.scratch import labkit_temp_root
from tests.test_app import build_dataset

pytestmark = pytest.mark.server
ROOT = Path(__file__).resolve().parents[1]


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_sigterm_to_labkit_serve_removes_its_files(tmp_path: Path) -> None:
    dataset = build_dataset(tmp_path / "lab.sqlite")
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(temp)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "labkit", "serve", "--dataset", str(dataset)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert "lab API on" in line, line + (proc.stderr.read() if proc.stderr else "")
    assert list((temp / "labkit").glob("server-*")), "the server keeps its files here"
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0 and "Traceback" not in err, f"{proc.returncode}: {out} {err}"
    assert list(temp.rglob("*")) == [temp / "labkit"], f"left: {list(temp.rglob('*'))}"


def test_folders_of_dead_owners_are_swept_on_the_next_start(tmp_path: Path) -> None:
    root = labkit_temp_root()
    abandoned = root / f"server-{dead_pid()}-abc123"
    (abandoned / "l2").mkdir(parents=True)
    (abandoned / "lab-app.sqlite").write_bytes(b"x" * 1000)
    mine = root / f"app-{os.getpid()}-keepme"
    mine.mkdir()
    try:
        with LabServer(dataset=build_dataset(tmp_path / "lab.sqlite")) as server:
            assert server.running
        assert not abandoned.exists()
        assert mine.exists()  # its owner (this process) is alive
    finally:
        mine.rmdir()
