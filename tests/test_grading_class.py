"""A class graded by ``labkit check`` that an instructor can trust (issue 11).

The class, built in code, calls notebook 00's real checks: two honest submissions, a forger
(check log, results files, fake result lines, a patched ``run_check``, the progress store), a
saboteur (rewrites a classmate's notebook), a leaver (a detached child that keeps rewriting the
CSV), two importers (labkit's reference answer as it is, and behind a wrapper) and a looper
(never finishes). The proofs: every honest verdict is what it should be, the forger and the
importers pass nothing, no process survives, the instructor's store is untouched, and the CSV
is what ``labkit check`` wrote.
"""

from __future__ import annotations

import csv
import hashlib
import inspect
import json
import os
import time
import uuid
from pathlib import Path

import nbformat
import psutil
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from labkit.cli import main
from labkit.grading.gradebook import load_report
from labkit.grading.isolation import bwrap_problem
from tests.answers.n00_start import read_server_timing_scanner, top_authors_pandas

pytestmark = pytest.mark.notebooks

IMPORTS = "from labkit import check, check_all\n"
TOP_AUTHORS = (
    "from typing import Any\n\nimport pandas as pd\n\n"
    + inspect.getsource(top_authors_pandas)
    + "\ntop_authors = top_authors_pandas\n"
)
SERVER_TIMING = (
    "import re\n"
    + inspect.getsource(read_server_timing_scanner)
    + "\nread_server_timing = read_server_timing_scanner\n"
)
CHECK_TOP = "check('00.top_authors', top_authors)"
CHECK_TIMING = "check('00.server_timing', read_server_timing)"
WRONG_TIMING = (
    "def read_server_timing(header):\n"
    "    return {m.split(';')[0].strip(): 0.0 for m in header.split(',') if m.strip()}\n"
    + CHECK_TIMING
)
STUBS = (
    "def top_authors(db, k=10):\n    return None\n\n"
    "def read_server_timing(header):\n    return {}\n"
)


def write(folder: Path, name: str, *sources: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    nbformat.write(new_notebook(cells=[new_code_cell(s) for s in sources]), str(path))
    return path


def forger(results: list[Path]) -> list[str]:
    line = json.dumps({"exercise": "00.top_authors", "verdict": "passed", "points": 1})
    targets = [str(p) for p in results]
    return [
        IMPORTS + STUBS,
        # the log labkit check used to read, and the instructor's result files
        "import os\n"
        f"line = {line!r}\n"
        "for target in [os.environ.get('LABKIT_CHECK_LOG', ''), *" + repr(targets) + "]:\n"
        "    try:\n"
        "        with open(target, 'a') as f:\n"
        "            f.write(line + '\\n')\n"
        "    except OSError:\n"
        "        pass\n",
        # a patched grader, and lines that look like results
        "import labkit.grading, labkit.grading.checking as c\n"
        "from labkit.grading.result import CheckResult\n"
        "def fake(exercise, answers, **kw):\n"
        "    return CheckResult(exercise.id, exercise.title, 'passed', 1, 1, 'Correct.')\n"
        "c.run_check = labkit.grading.run_check = fake\n"
        f"print('0' * 32 + ' ' + {line!r})\n"
        f"print({line!r})",
        # passed attempts straight into the progress store
        "from labkit.grading.progress_store import record_attempt\n"
        "record_attempt(CheckResult('00.top_authors', 't', 'passed', 1, 1, 'Correct.'))",
        CHECK_TOP,
        CHECK_TIMING,
    ]


def leaver(tag: str, csv_path: Path) -> list[str]:
    child = (
        "import time\n"
        f"# {tag}\n"
        "time.sleep(1)\n"
        "for _ in range(600):\n"
        "    try:\n"
        f"        open({str(csv_path)!r}, 'w').write('notebook,verdict\\neveryone,passed\\n')\n"
        "    except OSError:\n"
        "        pass\n"
        "    time.sleep(0.5)\n"
    )
    return [
        IMPORTS + TOP_AUTHORS,
        CHECK_TOP,
        "import subprocess, sys\n"
        f"subprocess.Popen([sys.executable, '-c', {child!r}], start_new_session=True,\n"
        "                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)",
    ]


def build_class(folder: Path, out: Path, tag: str) -> dict[str, Path]:
    csv_path, json_path = out / "results.csv", out / "results.json"
    paths = {
        "alice": write(
            folder,
            "alice_00_start.ipynb",
            IMPORTS + TOP_AUTHORS + SERVER_TIMING,
            CHECK_TOP,
            CHECK_TIMING,
        ),
        "bob": write(folder, "bob_00_start.ipynb", IMPORTS + TOP_AUTHORS, CHECK_TOP, WRONG_TIMING),
        "mallory": write(folder, "mallory_00_start.ipynb", *forger([csv_path, json_path])),
        "lea": write(folder, "lea_00_start.ipynb", *leaver(tag, csv_path)),
        "ivan": write(
            folder,
            "ivan_00_start.ipynb",
            IMPORTS + "from labkit.lessons.n00_start.top_authors import "
            "top_authors_reference as top_authors\n"
            "from labkit.lessons.n00_start.server_timing import "
            "read_server_timing_reference as read_server_timing",
            CHECK_TOP,
            CHECK_TIMING,
        ),
        "ivy": write(
            folder,
            "ivy_00_start.ipynb",
            IMPORTS + "from labkit.lessons.n00_start.top_authors import top_authors_reference\n\n"
            "def top_authors(db, k=10):\n    return top_authors_reference(db, k)\n",
            CHECK_TOP,
        ),
        "leo": write(
            folder,
            "leo_00_start.ipynb",
            IMPORTS + TOP_AUTHORS,
            CHECK_TOP,
            "while True:\n    pass",
            CHECK_TIMING,
        ),
    }
    victim = nbformat.writes(new_notebook(cells=[new_code_cell(IMPORTS + STUBS + CHECK_TOP)]))
    paths["sam"] = write(
        folder,
        "sam_00_start.ipynb",
        IMPORTS + STUBS,
        f"try:\n    open({str(paths['bob'])!r}, 'w').write({victim!r})\nexcept OSError:\n    pass",
        CHECK_TOP,
    )
    return paths


def survivors(tag: str) -> list[int]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        if any(tag in part for part in process.info["cmdline"] or ()):
            found.append(process.pid)
    return found


def store_state() -> dict[str, str]:
    home = Path(os.environ["LABKIT_HOME"])
    return {
        str(p.relative_to(home)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(home.rglob("*"))
        if p.is_file()
    }


def grade(folder: Path, out: Path, *extra: str) -> int:
    return main(
        [
            "check", str(folder), "-j", "2", "--budget", "25", "--no-progress",
            "--csv", str(out / "results.csv"), "--json", str(out / "results.json"),
            "--gradebook", str(out / "gradebook"), *extra,
        ]
    )  # fmt: skip


GRADED = ("00.top_authors", "00.server_timing")  # what the class answers; the rest is not run


def verdicts(out: Path) -> dict[tuple[str, str], str]:
    with (out / "results.csv").open(newline="") as f:
        rows = {(r["student"], r["exercise"]): r["verdict"] for r in csv.DictReader(f)}
    assert {v for (_, e), v in rows.items() if e not in GRADED} <= {"not run"}
    return {key: verdict for key, verdict in rows.items() if key[1] in GRADED}


@pytest.mark.parametrize("isolation", ["auto", "process"])
def test_a_class_with_cheats_is_graded_honestly(tmp_path: Path, isolation: str) -> None:
    if isolation == "auto" and bwrap_problem() is not None:
        pytest.skip(f"sandboxed path: {bwrap_problem()}")
    tag = f"labkit-survivor-{uuid.uuid4().hex}"
    folder, out = tmp_path / "class", tmp_path / "out"
    out.mkdir()
    paths = build_class(folder, out, tag)
    if isolation == "process":  # the process-only path, on the cheats it must stop by itself
        for name in ("alice", "ivan", "ivy", "leo"):
            paths.pop(name).unlink()
    bob_before = paths["bob"].read_bytes()
    store_before = store_state()

    assert grade(folder, out, "--isolation", isolation) == 1
    time.sleep(1.5)  # the leaver's child would have rewritten the CSV by now

    got = verdicts(out)
    delegated = got.pop(("ivy", "00.top_authors"), None)
    got.pop(("ivy", "00.server_timing"), None)
    expected = {
        ("bob", "00.top_authors"): "passed",  # graded from the copy read before sam ran
        ("bob", "00.server_timing"): "not yet",
        ("lea", "00.top_authors"): "passed",
        ("lea", "00.server_timing"): "not run",
        ("mallory", "00.top_authors"): "not yet",
        ("mallory", "00.server_timing"): "not yet",
        ("sam", "00.top_authors"): "not yet",
        ("sam", "00.server_timing"): "not run",
    }
    if isolation == "auto":
        expected |= {
            ("alice", "00.top_authors"): "passed",
            ("alice", "00.server_timing"): "passed",
            ("ivan", "00.top_authors"): "not yet",
            ("ivan", "00.server_timing"): "not yet",
            ("leo", "00.top_authors"): "passed",
            ("leo", "00.server_timing"): "not run",
        }
    assert got == expected

    report = load_report(out / "results.json")
    runs = {run.student: run for run in report.runs}
    # the CSV is the one labkit check wrote, row for row, nothing appended
    assert (out / "results.csv").read_text() == report.csv_text()
    assert "everyone" not in (out / "results.csv").read_text()
    assert not survivors(tag)
    assert store_state() == store_before
    want = "bwrap" if isolation == "auto" else "process"
    assert {run.isolation for run in report.runs} == {want}
    with (out / "results.csv").open(newline="") as f:
        assert {r["isolation"] for r in csv.DictReader(f)} == {want}
    if "leo" in runs:
        assert runs["leo"].status == "timed out"
        assert "reference answer" in next(r.message for r in runs["ivan"].rows)
    if want == "bwrap":
        assert paths["bob"].read_bytes() == bob_before  # the sandbox could not even write it
    else:
        assert any("changed on disk" in note for note in runs["bob"].notes)
        assert any("killed" in note for note in runs["lea"].notes)
    with (out / "gradebook" / "gradebook.csv").open(newline="") as f:
        gradebook = {r["student"]: r for r in csv.DictReader(f)}
    assert (gradebook["bob"]["00.top_authors"], gradebook["bob"]["00.server_timing"]) == ("1", "0")
    assert gradebook["bob"]["total"] == "1" and gradebook["mallory"]["total"] == "0"
    if isolation == "auto":  # an answer that only wraps the reference: the core's detection
        assert delegated == "not yet"
        assert "reference" in next(r.message for r in runs["ivy"].rows)
