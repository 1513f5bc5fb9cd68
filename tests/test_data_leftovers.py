"""A killed build leaves a temporary file; the next build in that folder removes it (only when
the process that wrote it is gone)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from labkit.data import build, fresh_copy
from labkit.data.copies import remove_database
from labkit.data.scratch import labkit_temp_root

ROOT = Path(__file__).resolve().parents[1]


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_temporary_builds_are_removed_live_ones_kept(tmp_path: Path) -> None:
    stale = tmp_path / f".large-42.sqlite.{dead_pid()}.k1l2.tmp"
    live = tmp_path / f".large-42.sqlite.{os.getpid()}.a1b2.tmp"  # a build still running
    old_format = tmp_path / ".large-42.sqlite.x9y8.tmp"  # named before pids were recorded
    recent_old_format = tmp_path / ".medium-42.sqlite.q7w6.tmp"
    unrelated = tmp_path / ".notes.tmp"
    for path in (stale, live, old_format, recent_old_format, unrelated):
        path.write_bytes(b"partial")
    two_hours_ago = time.time() - 7200
    os.utime(old_format, (two_hours_ago, two_hours_ago))
    build("tiny", 1, tmp_path / "tiny-1.sqlite")
    assert not stale.exists() and not old_format.exists()
    assert live.exists() and recent_old_format.exists() and unrelated.exists()


def test_a_killed_build_is_cleaned_by_the_next_one(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "labkit", "data", "build", "--size", "small"]
    proc = subprocess.Popen(
        [*command, "--out", str(tmp_path), "--no-progress"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".*.tmp")) and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert list(tmp_path.glob(".*.tmp")), "the build was not caught in the middle"
    build("tiny", 1, tmp_path / "tiny-1.sqlite")
    assert list(tmp_path.glob(".*.tmp")) == []


def test_a_forgotten_copy_goes_once_its_process_has_ended() -> None:
    root = labkit_temp_root()
    forgotten = root / f"copy-{dead_pid()}-zz9-tiny-42.sqlite"
    forgotten.write_bytes(b"x")
    (root / (forgotten.name + "-wal")).write_bytes(b"x")
    copy = fresh_copy("tiny")
    try:
        assert copy.parent == root and copy.name.startswith(f"copy-{os.getpid()}-")
        assert not forgotten.exists() and not (root / (forgotten.name + "-wal")).exists()
    finally:
        remove_database(copy)


def test_what_older_versions_left_in_the_temp_dir_goes_once_a_day_old(tmp_path: Path) -> None:
    from labkit.data.scratch import remove_legacy

    day_old = time.time() - 25 * 3600
    old = [
        tmp_path / "labkit-server-ab12cd34",
        tmp_path / "l2-x_9y8z7w",
        tmp_path / "labkit-05-q1w2e3r4",
    ]
    old_file = tmp_path / "labkit-small-42-zz11yy22.sqlite"
    recent = tmp_path / "labkit-limits-mn34op56"  # perhaps still in use
    unrelated = [
        tmp_path / "l2-cache-of-another-tool",
        tmp_path / "labkit-notes",
        tmp_path / "l2-abc",
    ]
    for folder in [*old, recent, *unrelated]:
        folder.mkdir()
        (folder / "data.sqlite").write_bytes(b"x")
    old_file.write_bytes(b"x")
    for path in [*old, old_file, *unrelated]:
        os.utime(path, (day_old, day_old))
    removed = remove_legacy(tmp_path)
    assert sorted(removed) == sorted([*old, old_file])
    assert not any(p.exists() for p in [*old, old_file])
    assert recent.exists() and all(p.exists() for p in unrelated)
