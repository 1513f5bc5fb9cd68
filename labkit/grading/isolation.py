"""What keeps one submission away from everything else while its kernel runs.

Each submission gets a fresh folder holding only a copy of its notebook, its own ``LABKIT_HOME``,
``LABKIT_DATA`` (fresh copies of the instructor's datasets) and ``HOME``, and a secret marker
variable in its environment. Where bubblewrap works, the kernel runs inside it: the system
read-only, no network, only its own folder writable, its own PID namespace (everything in it
dies with it). Without bubblewrap, the worker process that runs the kernel is a *child
subreaper*, so every descendant — even one that started a new session — stays its descendant
and is killed with the rest, and any process still carrying the marker is killed too.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import psutil

MARKER_ENV = "LABKIT_GRADING_RUN"
BWRAP = "bwrap"
PROCESS = "process"
_PR_SET_CHILD_SUBREAPER = 36

# The instructor's settings a kernel must not inherit.
_DROPPED_ENV = (
    "LABKIT_HOME",
    "LABKIT_DATA",
    "LABKIT_CHECK_LOG",
    "LABKIT_STRICT",
    "LABKIT_REDIS_URL",
    "JPY_SESSION_NAME",
    "JUPYTER_RUNTIME_DIR",
    "JUPYTER_DATA_DIR",
    "IPYTHONDIR",
    "XDG_DATA_HOME",
    "XDG_CONFIG_HOME",
    "XDG_CACHE_HOME",
    "MPLCONFIGDIR",
)


@dataclass(frozen=True)
class RunFolder:
    """The one folder a submission's kernel may write to."""

    root: Path

    @property
    def work(self) -> Path:
        return self.root / "work"

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def labkit_home(self) -> Path:
        return self.root / "labkit-home"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def kernel(self) -> Path:
        return self.root / "kernel"

    @property
    def sockets(self) -> Path:
        """Where the kernel's Unix sockets are named: the kernel folder, or a short link to it
        in /tmp when its path would pass the ~107-byte limit of a socket address (a deep TMPDIR
        such as pytest's gives "File name too long")."""
        if len(str(self.kernel)) <= _SOCKET_FOLDER_LIMIT:
            return self.kernel
        digest = hashlib.sha1(str(self.root).encode()).hexdigest()[:12]
        return Path("/tmp") / f"labkit-k-{digest}"

    def create(self, notebook_name: str, notebook_bytes: bytes, datasets: Sequence[Path]) -> Path:
        for folder in (self.work, self.home, self.labkit_home, self.data, self.kernel):
            folder.mkdir(parents=True, exist_ok=True)
        if self.sockets != self.kernel:
            for old in self.sockets.parent.glob("labkit-k-*"):  # links of runs that were killed
                if old.is_symlink() and not old.exists():
                    with contextlib.suppress(OSError):
                        old.unlink()
            with contextlib.suppress(FileNotFoundError):
                self.sockets.unlink()
            self.sockets.symlink_to(self.kernel, target_is_directory=True)
        notebook = self.work / notebook_name
        notebook.write_bytes(notebook_bytes)
        for dataset in datasets:
            shutil.copyfile(dataset, self.data / dataset.name)  # a copy: never the instructor's
        return notebook

    def remove_links(self) -> None:
        """Remove the short socket link (the run folder itself is removed by its owner)."""
        if self.sockets != self.kernel and self.sockets.is_symlink():
            with contextlib.suppress(OSError):
                self.sockets.unlink()


# A socket address holds ~107 bytes; the kernel adds "/k-NN" to the folder.
_SOCKET_FOLDER_LIMIT = 90


def instructor_datasets() -> list[Path]:
    """The dataset files a kernel gets copies of (its own seeds it builds itself)."""
    try:
        from labkit.data.location import data_dir

        folder = data_dir()
    except Exception:
        return []
    return sorted(p for p in folder.glob("*.sqlite") if p.is_file())


def kernel_environment(run: RunFolder, marker: str, session_name: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _DROPPED_ENV}
    env.update(
        {
            MARKER_ENV: marker,
            "HOME": str(run.home),
            "LABKIT_HOME": str(run.labkit_home),
            "LABKIT_DATA": str(run.data),
            "IPYTHONDIR": str(run.home / ".ipython"),
            "MPLCONFIGDIR": str(run.home / ".matplotlib"),
            "XDG_CACHE_HOME": str(run.home / ".cache"),
            "TMPDIR": str(run.root / "tmp"),
            "JPY_SESSION_NAME": session_name,
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    (run.root / "tmp").mkdir(exist_ok=True)
    return env


# ---- bubblewrap -------------------------------------------------------------------------------
def bwrap_command(run: RunFolder) -> list[str]:
    """The sandbox prefix: read-only system, private /tmp, no network, own PID namespace."""
    return [
        shutil.which(BWRAP) or BWRAP,
        "--ro-bind", "/", "/",
        "--dev", "/dev",
        "--proc", "/proc",
        "--tmpfs", "/tmp",
        *_code_under_tmp(),
        *(["--symlink", str(run.kernel), str(run.sockets)] if run.sockets != run.kernel else []),
        "--bind", str(run.root), str(run.root),
        "--unshare-net",
        "--unshare-pid",
        "--as-pid-1",  # else the kernel sees parent pid 1 and exits (ipykernel ParentPollerUnix)
        "--unshare-ipc",
        "--die-with-parent",
        "--new-session",
        "--chdir", str(run.work),
        "--",
    ]  # fmt: skip


def _code_under_tmp() -> list[str]:
    """Read-only binds for the interpreter and labkit's code when they live under /tmp (a
    fresh clone in a temporary folder), which the sandbox's private /tmp would hide."""
    import labkit

    places = {sys.prefix, sys.base_prefix, sys.exec_prefix, str(Path(labkit.__file__).parents[1])}
    places |= {entry for entry in sys.path if entry}
    binds: list[str] = []
    for place in sorted(places):
        path = Path(place).resolve()
        if path.is_relative_to("/tmp") and path != Path("/tmp") and path.exists():
            binds += ["--ro-bind", str(path), str(path)]
    return binds


@cache
def bwrap_problem() -> str | None:
    """None when bubblewrap can start a sandbox here; otherwise why not (one line)."""
    if shutil.which(BWRAP) is None:
        return "bubblewrap (bwrap) is not installed"
    import tempfile

    with tempfile.TemporaryDirectory(prefix="labkit-bwrap-probe-") as tmp:
        run = RunFolder(Path(tmp))
        run.work.mkdir()
        try:
            probe = subprocess.run(
                [*bwrap_command(run), sys.executable, "-c", "print('ok')"],
                capture_output=True,
                text=True,
                timeout=30,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"bubblewrap could not start ({exc})"
    if probe.returncode != 0 or probe.stdout.strip() != "ok":
        lines = (probe.stderr or probe.stdout).strip().splitlines()
        return f"bubblewrap could not start a sandbox ({lines[-1] if lines else probe.returncode})"
    return None


# ---- no survivors -----------------------------------------------------------------------------
def become_subreaper() -> bool:
    """Orphaned descendants re-parent to this process rather than to init (Linux only)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def _carries_marker(process: psutil.Process, marker: str) -> bool:
    with contextlib.suppress(psutil.Error, OSError):
        return process.environ().get(MARKER_ENV) == marker
    return False


def survivors(marker: str, *, descendants_of: int | None = None) -> list[psutil.Process]:
    """Processes left by a run: our descendants (when we are their subreaper) and the marked."""
    found: dict[int, psutil.Process] = {}
    if descendants_of is not None:
        with contextlib.suppress(psutil.Error):
            for child in psutil.Process(descendants_of).children(recursive=True):
                found[child.pid] = child
    for process in psutil.process_iter():
        if process.pid not in found and _carries_marker(process, marker):
            found[process.pid] = process
    found.pop(os.getpid(), None)
    alive = []
    for process in found.values():
        with contextlib.suppress(psutil.Error):
            if process.status() != psutil.STATUS_ZOMBIE:
                alive.append(process)
    if descendants_of == os.getpid():
        _reap_zombies()
    return alive


def kill_survivors(marker: str, *, descendants_of: int | None = None) -> int:
    """Stop, then kill, every survivor until none is left; how many were killed."""
    killed = 0
    for _ in range(20):  # a process may fork while we kill: repeat until nothing is found
        left = survivors(marker, descendants_of=descendants_of)
        if not left:
            break
        for process in left:
            with contextlib.suppress(psutil.Error):
                process.send_signal(signal.SIGSTOP)
        for process in left:
            with contextlib.suppress(psutil.Error):
                process.kill()
                killed += 1
        psutil.wait_procs(left, timeout=2)
        _reap_zombies()
        time.sleep(0.05)
    return killed


def _reap_zombies() -> None:
    """Collect exit statuses of children re-parented to us (we are their subreaper)."""
    with contextlib.suppress(ChildProcessError, OSError):
        while True:
            pid, _ = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break


@contextlib.contextmanager
def private_folder(prefix: str) -> Iterator[Path]:
    """A temporary folder only this user can enter, removed afterwards whatever is in it."""
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix=prefix))
    folder.chmod(0o700)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
