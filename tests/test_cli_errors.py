"""Bad input to the ``labkit`` command: one clear line, never a traceback, nothing left behind.

Every case runs the real CLI in a subprocess, in a scratch folder with its own temp folder
(``TMPDIR``) and ``LABKIT_HOME``, and asserts: exit status ≠ 0, exactly one line on stderr, no
``Traceback``, every file that existed before is unchanged, and no new file (temporary or not)
is left in the scratch folder or the temp folder. Add a command's bad inputs as rows of CASES.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from labkit.data import build

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "notebooks" / "solutions"


@dataclass(frozen=True)
class Case:
    """One bad input. ``argv`` may use {dir} (the scratch folder), {dataset} (a healthy tiny
    dataset in it), {port} (a port another server listens on) and {solutions}."""

    name: str
    argv: tuple[str, ...]
    setup: Callable[[Path], None] | None = None
    env: dict[str, str] = field(default_factory=dict)
    says: str = ""  # a word the error line must contain


def write(relative: str, content: bytes) -> Callable[[Path], None]:
    def setup(folder: Path) -> None:
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)

    return setup


def fifo(relative: str) -> Callable[[Path], None]:
    return lambda folder: os.mkfifo(folder / relative)


def truncated_dataset(folder: Path) -> None:
    data = (folder / "tiny.sqlite").read_bytes()
    (folder / "truncated.sqlite").write_bytes(data[: len(data) // 3])


def release_with_a_folder_in_the_way(folder: Path) -> None:
    names = sorted(p.name for p in SOLUTIONS.glob("*.ipynb"))
    out = folder / "out"
    out.mkdir()
    (out / names[0]).write_text("an older release\n")  # must survive unchanged
    (out / names[-1]).mkdir()  # the last target is a folder: nothing may be written


def several(*setups: Callable[[Path], None]) -> Callable[[Path], None]:
    def setup(folder: Path) -> None:
        for step in setups:
            step(folder)

    return setup


SERVE = ("serve", "--dataset", "{dataset}")
LOAD = ("loadtest", "http://127.0.0.1:9/", "--duration", "1", "--no-progress")
CASES = [
    Case("build into /proc", ("data", "build", "--size", "tiny", "--out", "/proc/x.sqlite")),
    Case(
        "build into an unwritable LABKIT_DATA",
        ("data", "build", "--size", "tiny"),
        env={"LABKIT_DATA": "/proc"},
    ),
    Case(
        "build into a LABKIT_DATA that cannot be created",
        ("data", "build", "--size", "tiny"),
        env={"LABKIT_DATA": "/proc/labkit-data"},
    ),
    Case(
        "build onto a text file",
        ("data", "build", "--size", "tiny", "--out", "{dir}/notes.txt"),
        setup=write("notes.txt", b"my notes\n"),
        says="--force",
    ),
    Case(
        "build onto a non-dataset SQLite file",
        ("data", "build", "--size", "tiny", "--out", "{dir}/other.sqlite"),
        setup=write("other.sqlite", b"SQLite format 3\x00" + b"\x00" * 200),
        says="not a labkit dataset",
    ),
    Case(
        "build onto a device-like file, even with --force",
        ("data", "build", "--size", "tiny", "--force", "--out", "{dir}/pipe"),
        setup=fifo("pipe"),
        says="not a regular file",
    ),
    Case("serve on an impossible host", (*SERVE, "--host", "999.1.1.1"), says="999.1.1.1"),
    Case("serve on port -1", (*SERVE, "--port", "-1"), says="--port"),
    Case("serve on port 70000", (*SERVE, "--port", "70000"), says="--port"),
    Case("serve with negative latency", (*SERVE, "--latency-ms", "-5"), says="--latency-ms"),
    Case("serve with endless latency", (*SERVE, "--latency-ms", "1e308"), says="--latency-ms"),
    Case("serve with NaN latency", (*SERVE, "--latency-ms", "nan"), says="--latency-ms"),
    Case("serve on a port in use", (*SERVE, "--port", "{port}"), says="in use"),
    Case("serve with no workers", (*SERVE, "--workers", "0"), says="--workers"),
    Case("serve with a misspelt optimisation", (*SERVE, "--optimize", "cahce"), says="'cache'"),
    Case("serve with a negative body limit", (*SERVE, "--max-body-bytes", "-1"), says="body"),
    Case(
        "serve a 0-byte dataset",
        ("serve", "--dataset", "{dir}/empty.sqlite"),
        setup=write("empty.sqlite", b""),
        says="empty",
    ),
    Case(
        "serve a corrupt dataset",
        ("serve", "--dataset", "{dir}/corrupt.sqlite"),
        setup=write("corrupt.sqlite", b"not a database at all " * 300),
    ),
    Case(
        "release with a target that is a folder",
        ("release", "{solutions}", "--out", "{dir}/out"),
        setup=release_with_a_folder_in_the_way,
        says="not a regular file",
    ),
    Case(
        "release into a file",
        ("release", "{solutions}", "--out", "{dir}/out.txt"),
        setup=write("out.txt", b"x\n"),
    ),
    Case("progress of a notebook that does not exist", ("progress", "99"), says="99"),
    Case(
        "data info on a damaged dataset",
        ("data", "info", "{dir}/truncated.sqlite"),
        setup=truncated_dataset,
        says="rebuild",
    ),
    Case(
        "data info on a file that is not a database",
        ("data", "info", "{dir}/corrupt.sqlite"),
        setup=write("corrupt.sqlite", b"not a database at all " * 300),
        says="rebuild",
    ),
    # load tests, reports and optimisation runs: refused before any load is sent
    *(
        Case(f"loadtest {flag} {value}", (*LOAD, flag, value), says=flag)
        for flag, value in (
            ("--rate", "nan"),
            ("--rate", "-3"),
            ("--duration", "nan"),
            ("--duration", "inf"),
            ("--warmup", "nan"),
            ("--vus", "1000000000"),
            ("--vus", "0"),
        )
    ),
    Case(
        "loadtest an endpoint on another host",
        (*LOAD, "--endpoints", "http://example.org/api/users/1"),
        says="example.org",
    ),
    Case("loadtest -o into a missing folder", (*LOAD, "-o", "{dir}/nowhere/out.json")),
    Case("loadtest -o onto a folder", (*LOAD, "-o", "{dir}"), says="folder"),
    Case("loadtest -o into /proc", (*LOAD, "-o", "/proc/out.json"), says="cannot write"),
    Case("loadtest --export-k6 onto a folder", (*LOAD, "--export-k6", "{dir}"), says="folder"),
    Case(
        "report from a JSON list",
        ("report", "{dir}/list.json", "{dir}/list.json", "-o", "{dir}/r.md"),
        setup=write("list.json", b"[1, 2]"),
        says="not a labkit load result",
    ),
    Case(
        "report from JSON null",
        ("report", "{dir}/null.json", "{dir}/null.json", "-o", "{dir}/r.md"),
        setup=write("null.json", b"null"),
    ),
    Case(
        "report from a result with wrong types",
        ("report", "{dir}/bad.json", "{dir}/bad.json", "-o", "{dir}/r.md"),
        setup=write("bad.json", b'{"format": 1, "endpoints": 5}'),
    ),
    Case(
        "report -o onto a folder",
        ("report", "{dir}/a.json", "{dir}/a.json", "-o", "{dir}"),
        setup=write("a.json", b"{}"),
        says="folder",
    ),
    Case(
        "report -o empty",
        ("report", "{dir}/a.json", "{dir}/a.json", "-o", ""),
        setup=write("a.json", b"{}"),
        says="file name",
    ),
    Case("optimize -o into /proc", ("optimize", "-o", "/proc/report.md"), says="cannot write"),
    Case("optimize -o onto a folder", ("optimize", "-o", "{dir}"), says="folder"),
]


def snapshot(folder: Path) -> dict[str, str]:
    """Every file and folder under ``folder``: its content hash (files) or "dir"."""
    state: dict[str, str] = {}
    for path in sorted(folder.rglob("*")):
        key = str(path.relative_to(folder))
        if path.is_symlink() or not (path.is_file() or path.is_dir()):
            state[key] = "special"
        elif path.is_dir():
            state[key] = "dir"
        else:
            state[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return state


def without_labkit_root(state: dict[str, str]) -> dict[str, str]:
    """The temp folder may keep labkit's own (empty) folder; nothing in it."""
    return {k: v for k, v in state.items() if not (k in ("labkit",) and v == "dir")}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build("tiny", 42, tmp_path_factory.mktemp("cli-errors") / "tiny.sqlite").path


@pytest.fixture
def held_port() -> Iterator[int]:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_bad_input_is_one_line_and_leaves_nothing(
    case: Case, tiny: Path, held_port: int, tmp_path: Path
) -> None:
    folder, temp, home = tmp_path / "work", tmp_path / "tmp", tmp_path / "home"
    for path in (folder, temp, home):
        path.mkdir()
    shutil.copy(tiny, folder / "tiny.sqlite")
    if case.setup is not None:
        case.setup(folder)
    values = {
        "dir": str(folder),
        "dataset": str(folder / "tiny.sqlite"),
        "port": str(held_port),
        "solutions": str(SOLUTIONS),
    }
    argv = [part.format(**values) for part in case.argv]
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "TMPDIR": str(temp),
        "LABKIT_HOME": str(home),
        **case.env,
    }
    before = snapshot(folder), snapshot(temp)
    result = subprocess.run(
        [sys.executable, "-m", "labkit", *argv],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    lines = result.stderr.strip().splitlines()
    assert result.returncode != 0, f"exit 0 for {argv}: {result.stdout[-300:]}"
    assert "Traceback" not in result.stderr + result.stdout
    assert len(lines) == 1, f"stderr was {len(lines)} lines: {result.stderr[-600:]}"
    assert case.says in lines[0], lines[0]
    assert snapshot(folder) == before[0], "a file in the folder was changed, added or removed"
    assert without_labkit_root(snapshot(temp)) == before[1], "a temporary file was left"


@pytest.mark.server
def test_a_load_test_whose_requests_fail_is_not_a_measurement(tmp_path: Path) -> None:
    output = tmp_path / "nope.json"
    done = subprocess.run(
        [sys.executable, "-m", "labkit", "loadtest", "--serve", "none", "--endpoints", "/api/nope",
         "--vus", "2", "--duration", "0.5", "--warmup", "0", "--no-progress", "-o", str(output)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode != 0
    assert done.stderr.count("\n") == 1 and "404" in done.stderr and "--allow-errors" in done.stderr
    assert output.is_file()  # what was measured is kept, but no speed is claimed from it
    report = subprocess.run(
        [sys.executable, "-m", "labkit", "report", str(output), str(output), "-o",
         str(tmp_path / "r.md")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert report.returncode != 0 and "cannot be compared" in report.stderr
    assert not (tmp_path / "r.md").exists()


@pytest.mark.server
def test_optimize_claims_no_speed_up_from_failed_requests(tmp_path: Path) -> None:
    report = tmp_path / "new" / "folders" / "report.md"  # made before the runs, removed after
    done = subprocess.run(
        [sys.executable, "-m", "labkit", "optimize", "--target", "caching", "--endpoints",
         "/api/nope", "--vus", "2", "--duration", "0.3", "--repeats", "2", "--no-progress",
         "-o", str(report)],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert done.returncode != 0
    assert "Traceback" not in done.stderr + done.stdout
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "404" in lines[0] and "no report" in lines[0], done.stderr
    assert "×" not in done.stdout  # no ratio printed from runs that measured only errors
    assert list(tmp_path.iterdir()) == []  # no report, no result files
