"""``labkit check``: grade a folder of submissions, each isolated, several at once.

Every submission is read into memory (and hashed) before any kernel starts, so a notebook that
edits a classmate's file changes nothing that is graded. Each one is then graded by a worker
process of its own (``labkit.grading.worker``): its own folder, store, datasets and process
tree, in bubblewrap where that works. Whatever an expected exercise did not report — never
checked, kernel died, budget ran out — is "not run", so a broken run is never "all passed".
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labkit.errors import GradingError
from labkit.grading.gradebook import BatchReport, NotebookRun, Row
from labkit.grading.hidden import HiddenChecks
from labkit.grading.isolation import (
    BWRAP,
    PROCESS,
    bwrap_problem,
    instructor_datasets,
    kill_survivors,
)
from labkit.grading.registry import REGISTRY, Registry, course_exercises, load_lessons
from labkit.grading.worker import COMPLETED, FAILED_TO_START, KERNEL_DIED, TIMED_OUT, Job
from labkit.notebook_number import NOTEBOOK_NUMBER, notebook_number

__all__ = [
    "COMPLETED",
    "FAILED_TO_START",
    "KERNEL_DIED",
    "TIMED_OUT",
    "BatchReport",
    "NotebookRun",
    "Row",
    "Submission",
    "check_notebooks",
    "find_notebooks",
    "parse_shard",
    "student_of",
]

# Time a worker may take beyond the notebook's budget (kernel start-up, dataset copies, grading
# of the last cell) before the parent gives up on it.
WORKER_GRACE = 120.0


@dataclass(frozen=True)
class Submission:
    """A notebook as it was when grading started: its bytes, their hash, whose it is."""

    path: Path
    student: str
    content: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


def find_notebooks(paths: Iterable[str | Path]) -> list[Path]:
    """Notebooks named directly or found under folders (checkpoints skipped)."""
    return [path for path, _ in _found(paths)]


def _found(paths: Iterable[str | Path]) -> list[tuple[Path, Path | None]]:
    """(notebook, the folder it was found under, if any)."""
    found: list[tuple[Path, Path | None]] = []
    paths = list(paths)
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(
                (p, path)
                for p in sorted(path.rglob("*.ipynb"))
                if ".ipynb_checkpoints" not in p.parts and not p.name.startswith(".")
            )
        elif path.is_file() and path.suffix == ".ipynb":
            found.append((path, None))
        elif path.exists():
            raise GradingError(f"{path}: not a notebook (.ipynb)")
        else:
            raise GradingError(f"{path}: no such notebook or folder")
    if not found:
        raise GradingError("no notebooks found in " + ", ".join(str(p) for p in paths))
    return found


def student_of(path: Path, root: Path | None = None) -> str:
    """``alice`` for ``class/alice/02_query_tuning.ipynb`` or ``class/alice_02_query.ipynb``."""
    if root is not None:
        with contextlib.suppress(ValueError):
            parts = path.relative_to(root).parts
            if len(parts) > 1:
                return parts[0]
    match = NOTEBOOK_NUMBER.search(path.stem)
    prefix = path.stem[: match.start(1)].strip("_-. ") if match else ""
    return prefix or path.stem


def parse_shard(text: str) -> tuple[int, int]:
    """``"2/5"`` → (2, 5): the second of five slices."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text or "")
    if not match:
        raise GradingError(f"--shard {text!r}: expected i/n, e.g. 1/4")
    index, count = int(match.group(1)), int(match.group(2))
    if count < 1 or not 1 <= index <= count:
        raise GradingError(f"--shard {text!r}: i must be between 1 and n")
    return index, count


def read_submissions(
    paths: Iterable[str | Path], shard: tuple[int, int] | None = None
) -> list[Submission]:
    """Every notebook found, read now; with ``shard=(i, n)`` only the i-th of n slices.

    The slice is taken from the notebooks sorted by path, every n-th one, so each machine of a
    CI matrix (or each task of an array job) given the same folder grades a disjoint share.
    """
    found = sorted(_found(paths), key=lambda item: str(item[0]))
    if shard is not None:
        index, count = shard
        found = found[index - 1 :: count]
    submissions = []
    for path, root in found:
        try:
            content = path.read_bytes()
        except OSError as exc:
            raise GradingError(f"{path}: cannot read ({exc.strerror or exc})") from None
        submissions.append(Submission(path, student_of(path, root), content))
    return submissions


def expected_exercises(
    path: Path, registry: Registry | None = None, notebook: str | None = None
) -> list[tuple[str, int]]:
    registry = registry if registry is not None else load_lessons()
    number = _graded_as(path, notebook)
    if number is None:
        return []
    if registry is REGISTRY:
        return [(ex.id, ex.points) for ex in course_exercises(number)]
    return [(ex.id, ex.points) for ex in registry.for_notebook(number)]


def _graded_as(path: Path, notebook: str | None) -> str | None:
    """The notebook a submission is graded as: the one asked for, else the one its name says."""
    return notebook_number(notebook) if notebook else notebook_number(path)


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def check_notebooks(
    paths: Iterable[str | Path],
    *,
    budget: float = 300.0,
    notebook: str | None = None,
    kernel_name: str = "python3",
    registry: Registry | None = None,
    jobs: int = 1,
    shard: tuple[int, int] | None = None,
    hidden: HiddenChecks | None = None,
    isolation: str = "auto",
    previous: BatchReport | None = None,
    progress: bool | Callable[[Path], Any] = False,
) -> BatchReport:
    """Grade every notebook found under ``paths``; one row per (notebook, exercise).

    ``previous``: a report of an earlier run; a submission whose file hash (and hidden checks)
    is unchanged keeps that result instead of running again.
    """
    submissions = read_submissions(paths, shard)
    hidden = hidden or HiddenChecks()
    reusable: dict[tuple[str, str], NotebookRun] = {}
    if previous is not None and previous.hidden_sha256 == hidden.sha256:
        reusable = {(str(run.path), run.sha256): run for run in previous.runs if run.sha256}
    datasets = [str(p) for p in instructor_datasets()]
    # Probed once here rather than by every worker (a sandboxed interpreter start each time);
    # the worker still says why it fell back to process isolation.
    if isolation == "auto":
        isolation = BWRAP if bwrap_problem() is None else "auto"
    elif isolation == BWRAP and bwrap_problem() is not None:
        raise GradingError(f"--isolation bwrap: {bwrap_problem()}")
    runs: dict[Path, NotebookRun] = {}
    pending: list[tuple[Submission, Job]] = []
    for submission in submissions:
        earlier = reusable.get((str(submission.path), submission.sha256))
        if earlier is not None and earlier.status == COMPLETED:
            earlier.reused = True
            runs[submission.path] = earlier
            continue
        number = _graded_as(submission.path, notebook)
        job = Job(
            name=submission.path.name,
            notebook=submission.content,
            expected=expected_exercises(submission.path, registry, notebook),
            budget=budget,
            secret=secrets.token_hex(16),
            marker=secrets.token_hex(16),
            kernel_name=kernel_name,
            isolation=isolation,
            datasets=datasets,
            hidden_source=hidden.source,
            seeds=list(hidden.seeds),
            session_name=f"{number}_submission.ipynb" if number else submission.path.name,
        )
        pending.append((submission, job))
    bar = _progress_bar(len(pending), progress is True)
    workers = _Workers()
    pool = ThreadPoolExecutor(max_workers=max(1, jobs))
    try:
        futures = {pool.submit(grade_in_worker, s, j, workers): s for s, j in pending}
        for future in as_completed(futures):
            submission = futures[future]
            runs[submission.path] = future.result()
            if callable(progress):
                progress(submission.path)
            bar.update(1)
    except BaseException:  # Ctrl-C: stop every worker now rather than wait for them
        pool.shutdown(wait=False, cancel_futures=True)
        workers.stop_all()
        for _, job in pending:
            kill_survivors(job.marker)
        raise
    finally:
        pool.shutdown(wait=True)
        bar.close()
    _report_changed_on_disk(submissions, runs)
    return BatchReport(
        [runs[s.path] for s in submissions if s.path in runs], hidden_sha256=hidden.sha256
    )


class _Workers:
    """The worker processes running now, so that an interrupt can stop them all."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._live: set[subprocess.Popen[str]] = set()
        self.stopping = False

    def start(self) -> subprocess.Popen[str]:
        with self._lock:
            if self.stopping:
                raise RuntimeError("grading was interrupted")
            worker = subprocess.Popen(
                [sys.executable, "-m", "labkit.grading.worker"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                start_new_session=True,  # a Ctrl-C reaches us; we stop the workers ourselves
            )
            self._live.add(worker)
            return worker

    def done(self, worker: subprocess.Popen[str]) -> None:
        with self._lock:
            self._live.discard(worker)

    def stop_all(self) -> None:
        with self._lock:
            self.stopping = True
            for worker in self._live:
                with contextlib.suppress(OSError):
                    worker.kill()


def grade_in_worker(
    submission: Submission, job: Job, workers: _Workers | None = None
) -> NotebookRun:
    """Run one job in its own worker process; a worker that fails costs only this submission."""
    started = time.perf_counter()
    workers = workers or _Workers()
    root = Path(tempfile.mkdtemp(prefix="labkit-grade-"))
    root.chmod(0o700)
    job = dataclasses.replace(job, root=str(root))
    try:
        worker = workers.start()
        try:
            stdout, stderr = worker.communicate(job.to_json(), timeout=job.budget + WORKER_GRACE)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.communicate()
            raise RuntimeError("the grading worker did not finish in time") from None
        finally:
            workers.done(worker)
        outcome = _answer(stdout, job.secret)
        if outcome is None:
            tail = (stderr or "").strip().splitlines()
            raise RuntimeError(
                f"the grading worker exited with {worker.returncode}"
                + (f": {tail[-1]}" if tail else "")
            )
    except Exception as exc:
        detail = f"{exc}" if isinstance(exc, RuntimeError) else f"{type(exc).__name__}: {exc}"
        outcome = {
            "status": FAILED_TO_START,
            "detail": detail.splitlines()[0] if detail else "",
            "isolation": PROCESS,
            "notes": [],
            "rows": [
                {
                    "exercise": e,
                    "verdict": "not run",
                    "points": 0,
                    "max_points": p,
                    "measured": "",
                    "message": f"not run: {FAILED_TO_START}",
                }
                for e, p in job.expected
            ],
        }
    finally:
        kill_survivors(job.marker)  # the worker's own clean-up is the first line, this the last
        shutil.rmtree(root, ignore_errors=True)
    return _run_from(submission, outcome, time.perf_counter() - started)


def _answer(stdout: str, secret: str) -> dict[str, Any] | None:
    """The worker's one answer line; None when missing, repeated or malformed."""
    lines = [line for line in stdout.splitlines() if line.startswith(secret + " ")]
    if len(lines) != 1:
        return None
    try:
        data = json.loads(lines[0][len(secret) + 1 :])
    except ValueError:
        return None
    return data if isinstance(data, dict) and isinstance(data.get("rows"), list) else None


def _run_from(submission: Submission, outcome: dict[str, Any], seconds: float) -> NotebookRun:
    isolation = str(outcome.get("isolation", PROCESS))
    rows = [
        Row(
            notebook=str(submission.path),
            student=submission.student,
            exercise=str(r["exercise"]),
            verdict=str(r["verdict"]),
            points=int(r["points"]),
            max_points=int(r["max_points"]),
            measured=str(r.get("measured", "")),
            message=str(r.get("message", "")),
            isolation=isolation,
        )
        for r in outcome["rows"]
    ]
    return NotebookRun(
        path=submission.path,
        status=str(outcome["status"]),
        seconds=seconds,
        rows=rows,
        detail=str(outcome.get("detail", "")),
        student=submission.student,
        sha256=submission.sha256,
        isolation=isolation,
        notes=[str(n) for n in outcome.get("notes", [])],
    )


def _report_changed_on_disk(
    submissions: Sequence[Submission], runs: dict[Path, NotebookRun]
) -> None:
    """A file rewritten while the class was graded (by a classmate's notebook?) is noted."""
    for submission in submissions:
        try:
            now = hashlib.sha256(submission.path.read_bytes()).hexdigest()
        except OSError:
            now = ""
        run = runs.get(submission.path)
        if run is not None and not run.reused and now != submission.sha256:
            run.notes.append(
                "this file changed on disk while the class was graded; "
                "the copy read before grading started was graded"
            )


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar(total: int, show: bool) -> Any:
    if not show or total == 0:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="grading", unit="notebook", file=sys.stderr, dynamic_ncols=True)
