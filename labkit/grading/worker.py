"""One submission, graded in a process of its own: ``python -m labkit.grading.worker``.

The parent sends a JSON job on stdin (the notebook's bytes as the parent read them, the
exercises expected, the budget, the hidden checks) and reads back exactly one line on stdout,
prefixed with a secret the job carried. The worker is a child subreaper: whatever the kernel
starts stays its descendant and is killed before the worker answers.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labkit.grading.isolation import (
    BWRAP,
    PROCESS,
    RunFolder,
    become_subreaper,
    bwrap_command,
    bwrap_problem,
    kernel_environment,
    kill_survivors,
    private_folder,
)
from labkit.grading.kernel_side import UNCHANGED
from labkit.grading.result import NOT_RUN, PASSED

COMPLETED = "completed"
TIMED_OUT = "timed out"
KERNEL_DIED = "kernel died"
FAILED_TO_START = "could not run"

_CHECK_CALL = re.compile(r"""\bcheck\(\s*(?:exercise_id\s*=\s*)?['"]([^'"]+)['"]""")
_CHECK_ALL_CALL = re.compile(r"\bcheck_all\(")
_INJECTED = "labkit_grading"


@dataclass
class Job:
    name: str  # the notebook's file name inside its run folder
    notebook: bytes
    expected: list[tuple[str, int]]
    budget: float
    secret: str  # prefixes the worker's one answer line; the kernel never sees it
    marker: str  # in the kernel's environment: how its processes are found and killed
    kernel_name: str = "python3"
    isolation: str = "auto"  # auto | bwrap | process
    datasets: list[str] = field(default_factory=list)
    hidden_source: str = ""
    seeds: list[int] = field(default_factory=list)
    session_name: str = ""
    root: str = ""  # the run folder, made (and removed, whatever happens) by the parent

    def to_json(self) -> str:
        data = {**self.__dict__, "notebook": base64.b64encode(self.notebook).decode("ascii")}
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> Job:
        data = json.loads(text)
        data["notebook"] = base64.b64decode(data["notebook"])
        data["expected"] = [(str(e), int(p)) for e, p in data["expected"]]
        return cls(**data)


def plan_cells(nb: Any, expected: list[tuple[str, int]]) -> list[tuple[int, list[str]]]:
    """(index after which to grade, exercise ids) for each learner cell that checks something."""
    expected_ids = [e for e, _ in expected]
    plan = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        ids = expected_ids if _CHECK_ALL_CALL.search(cell.source) else []
        ids = ids or [m for m in _CHECK_CALL.findall(cell.source) if m in expected_ids]
        if ids:
            plan.append((index, list(dict.fromkeys(ids))))
    return plan


def instrument(nb: Any, job: Job) -> dict[int, tuple[str, list[str]]]:
    """Add the recorder cell first and a grading cell after each checking cell.

    Returns {index of a grading cell in the new notebook: (its secret, the ids it grades)}. Each
    secret is drawn here and is in no cell the kernel has seen before that cell runs.
    """
    from nbformat.v4 import new_code_cell

    plan = dict(plan_cells(nb, job.expected))
    cells = [new_code_cell("import labkit.grading.kernel_side as _k\n_k.install()\ndel _k")]
    grading: dict[int, tuple[str, list[str]]] = {}

    def add_grading(ids: list[str], only_new: bool = False) -> None:
        secret = secrets.token_hex(16)
        source = (
            "import labkit.grading.kernel_side as _k\n"
            f"_k.grade({secret!r}, {ids!r}, seeds={job.seeds!r}, "
            f"hidden_source={job.hidden_source!r}, only_new={only_new!r})\ndel _k"
        )
        grading[len(cells)] = (secret, ids)
        cells.append(new_code_cell(source, metadata={_INJECTED: True}))

    for index, cell in enumerate(nb.cells):
        cells.append(cell)
        if index in plan:
            add_grading(plan[index])
    if job.expected:
        # Checks the scan could not see (an id in a variable, a call inside a function run
        # later) are graded at the end; exercises not recorded again since are "unchanged".
        add_grading([e for e, _ in job.expected], only_new=True)
    nb.cells = cells
    return grading


def read_verdicts(
    nb: Any, grading: dict[int, tuple[str, list[str]]]
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """The verdict lines of the grading cells, validated; and what was rejected."""
    verdicts: dict[str, dict[str, Any]] = {}
    rejected: list[str] = []
    for index, (secret, ids) in grading.items():
        seen: dict[str, dict[str, Any] | None] = {}
        text = "".join(
            out.get("text", "")
            for out in nb.cells[index].get("outputs", [])
            if out.get("output_type") == "stream" and out.get("name") == "stdout"
        )
        for line in text.splitlines():
            if not line.startswith(secret + " "):
                continue
            try:
                data = json.loads(line[len(secret) + 1 :])
                exercise_id = str(data["exercise"])
            except (ValueError, KeyError, TypeError):
                rejected.append("a malformed result line")
                continue
            if exercise_id not in ids:
                rejected.append(f"a result for {exercise_id}, which this step did not grade")
            elif exercise_id in seen:
                seen[exercise_id] = None  # two lines for one exercise: trust neither
                rejected.append(f"a second result for {exercise_id}")
            else:
                seen[exercise_id] = data
        for exercise_id, data in seen.items():
            if data is not None and data.get("verdict") == UNCHANGED:
                continue  # graded by an earlier step, not checked again since
            if data is None:
                verdicts[exercise_id] = {
                    "exercise": exercise_id,
                    "verdict": "not yet",
                    "message": "rejected: more than one result reported for this exercise",
                }
            elif data.get("verdict") != NOT_RUN or exercise_id not in verdicts:
                verdicts[exercise_id] = data
    return verdicts, rejected


class _SandboxedKernelManager:
    """Built lazily: jupyter_client is imported only in the worker."""

    @staticmethod
    def make(run: RunFolder, sandbox: bool) -> Any:
        from jupyter_client.manager import AsyncKernelManager

        class Manager(AsyncKernelManager):
            def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
                cmd = super().format_kernel_cmd(extra_arguments)
                return [*bwrap_command(run), *cmd] if sandbox else list(cmd)

        # Unix sockets inside the run folder: reachable from a sandbox with no network.
        manager = Manager(
            transport="ipc",
            ip=str(run.sockets / "k"),
            connection_file=str(run.kernel / "connection.json"),
        )
        return manager


@contextlib.contextmanager
def _run_root(job: Job) -> Iterator[Path]:
    if job.root:  # the parent removes it, even when this worker is killed
        yield Path(job.root)
    else:
        with private_folder("labkit-grade-") as root:
            yield root


def run_job(job: Job) -> dict[str, Any]:
    """Execute one submission and return its outcome (a JSON-ready dict)."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    started = time.perf_counter()
    notes: list[str] = []
    isolation = PROCESS
    if job.isolation == BWRAP:  # the parent found that bubblewrap works here
        isolation = BWRAP
    elif job.isolation == "auto":
        problem = bwrap_problem()
        if problem is None:
            isolation = BWRAP
        elif "not installed" not in problem:
            notes.append(f"process isolation: {problem}")
    status, detail = COMPLETED, ""
    verdicts: dict[str, dict[str, Any]] = {}
    rejected: list[str] = []
    subreaper = become_subreaper()
    with _run_root(job) as root:
        run = RunFolder(root)
        path = run.create(job.name, job.notebook, [Path(p) for p in job.datasets])
        try:
            nb = nbformat.reads(job.notebook.decode("utf-8"), as_version=4)
            grading = instrument(nb, job)
        except Exception as exc:
            return _outcome(job, FAILED_TO_START, f"not a readable notebook: {exc}", started, {},
                            [], isolation, notes)  # fmt: skip
        env = kernel_environment(run, job.marker, job.session_name or job.name)
        client = NotebookClient(
            nb,
            km=_SandboxedKernelManager.make(run, isolation == BWRAP),
            timeout=int(job.budget) + 1,
            kernel_name=job.kernel_name,
            allow_errors=True,  # a learner's broken cell must not hide their other checks
            shutdown_kernel="immediate",
            resources={"metadata": {"path": str(path.parent)}},
        )
        try:
            ran = asyncio.run(
                _execute_within(
                    client,
                    job.budget,
                    env=env,
                    cwd=str(run.work),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    # LABKIT_GRADING_DEBUG=1 shows the kernel's stderr (a kernel that won't start)
                    stderr=None if os.environ.get("LABKIT_GRADING_DEBUG") else subprocess.DEVNULL,
                )
            )
            if not ran:
                status, detail = TIMED_OUT, f"the notebook exceeded its {job.budget:g} s budget"
        except DeadKernelError as exc:
            status, detail = KERNEL_DIED, str(exc).splitlines()[0] if str(exc) else ""
        except Exception as exc:  # a cell timeout, a kernel that cannot start...
            status, detail = FAILED_TO_START, f"{type(exc).__name__}: {exc}".splitlines()[0]
        finally:
            killed = kill_survivors(job.marker, descendants_of=os.getpid() if subreaper else None)
            run.remove_links()
        if killed:
            notes.append(f"{killed} process(es) left behind by the notebook were killed")
        verdicts, rejected = read_verdicts(nb, grading)
    return _outcome(job, status, detail, started, verdicts, rejected, isolation, notes)


def _outcome(
    job: Job,
    status: str,
    detail: str,
    started: float,
    verdicts: dict[str, dict[str, Any]],
    rejected: list[str],
    isolation: str,
    notes: list[str],
) -> dict[str, Any]:
    reason = "not run" if status == COMPLETED else f"not run: {status}"
    rows = []
    for exercise_id, points in job.expected:
        data = verdicts.get(exercise_id)
        if data is None or data.get("verdict") == NOT_RUN:
            rows.append({"exercise": exercise_id, "verdict": NOT_RUN, "points": 0,
                         "max_points": points, "measured": "", "message": reason})  # fmt: skip
            continue
        verdict = str(data.get("verdict"))
        rows.append(
            {
                "exercise": exercise_id,
                "verdict": verdict,
                # points come from the instructor's registry, never from the kernel's line
                "points": points if verdict == PASSED else 0,
                "max_points": points,
                "measured": _measured(data.get("measurements")),
                "message": str(data.get("message", ""))[:500],
            }
        )
    if rejected:
        notes.append("rejected from the kernel: " + "; ".join(dict.fromkeys(rejected)))
    return {
        "status": status,
        "detail": detail,
        "seconds": time.perf_counter() - started,
        "isolation": isolation,
        "notes": notes,
        "rows": rows,
    }


def _measured(measurements: Any) -> str:
    from labkit.grading.result import measurements_text

    return measurements_text(measurements) if isinstance(measurements, list) else ""


async def _execute_within(client: Any, budget: float, **kernel_kwargs: Any) -> bool:
    """Run the notebook; False when the budget ran out (the kernel is then shut down).

    Not ``asyncio.wait_for``: stopping the kernel while cancelling can raise DeadKernelError in
    place of the timeout, and a timed-out run must be reported as one.
    """
    task = asyncio.ensure_future(client.async_execute(**kernel_kwargs))
    try:
        done, _ = await asyncio.wait({task}, timeout=budget)
        if done:
            task.result()
            return True
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
        return False
    finally:
        # nbclient leaves a kernel it did not create running: stop ours (and, in bwrap, its
        # whole PID namespace) before anything is counted as left behind.
        with contextlib.suppress(Exception):
            if client.km is not None and client.km.has_kernel:
                await client.km.shutdown_kernel(now=True)


def main() -> int:
    job = Job.from_json(sys.stdin.read())
    try:
        outcome = run_job(job)
    except Exception as exc:  # reported as this submission's failure, never the class's
        detail = f"{type(exc).__name__}: {exc}"
        outcome = _outcome(job, FAILED_TO_START, detail, time.perf_counter(), {}, [], PROCESS, [])
    sys.stdout.write(job.secret + " " + json.dumps(outcome) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
