"""labkit's temporary files and folders, in one folder labkit owns, removed even after a crash.

Each is named ``<kind>-<owner pid>-<random>`` under ``<temp dir>/labkit`` (lab servers, app
copies, dataset copies): removed by its owner when it is done, and by the next one labkit
creates once the owner process is gone (killed, or stopped by a signal that ran no clean-up).
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import Final

OWNED: Final = re.compile(r"^(?P<kind>server|app|copy|lesson|check)-(?P<pid>\d+)-")

# What versions before the owned folder made straight in the temp dir, with no owner pid in the
# name: tempfile's prefixes with its 8-character random part, exactly. Nothing says whether their
# process lives, so only ones untouched for a day are removed.
LEGACY: Final = re.compile(
    r"^(?:labkit-(?:app|server|check|limits|05)-|l2-|labkit-(?:tiny|small|large)-\d+-)"
    r"[a-z0-9_]{8}(?:\.sqlite)?$"
)
LEGACY_AGE_S: Final = 24 * 3600


def labkit_temp_root() -> Path:
    """``<temp dir>/labkit`` (``labkit-<uid>`` when another user owns that one)."""
    base = Path(tempfile.gettempdir())
    for name in ("labkit", f"labkit-{os.getuid()}"):
        root = base / name
        try:
            root.mkdir(mode=0o700, exist_ok=True)
        except OSError:
            continue
        if root.is_dir() and not root.is_symlink() and os.access(root, os.W_OK | os.X_OK):
            return root
    return base


def owned_temp_dir(kind: str) -> Path:
    """A new folder for this process, after removing the ones whose owner is gone."""
    root = labkit_temp_root()
    remove_abandoned(root)
    _remove_legacy_once()
    return Path(tempfile.mkdtemp(prefix=f"{kind}-{os.getpid()}-", dir=root))


def owned_temp_file(kind: str, suffix: str = "") -> Path:
    """A new empty file for this process, after removing the ones whose owner is gone."""
    root = labkit_temp_root()
    remove_abandoned(root)
    fd, name = tempfile.mkstemp(prefix=f"{kind}-{os.getpid()}-", suffix=suffix, dir=root)
    os.close(fd)
    return Path(name)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove(entry: Path) -> None:
    """A folder with all it holds, or a file or link (a link's target is left alone)."""
    if entry.is_dir() and not entry.is_symlink():
        shutil.rmtree(entry, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            entry.unlink()


def remove_abandoned(root: Path | None = None) -> list[Path]:
    """Remove the files and folders in ``root`` whose owner process no longer exists."""
    root = root if root is not None else labkit_temp_root()
    removed: list[Path] = []
    try:
        entries = list(root.iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = OWNED.match(entry.name)
        if match is None or int(match["pid"]) == os.getpid() or _alive(int(match["pid"])):
            continue
        _remove(entry)
        removed.append(entry)
    return removed


def remove_legacy(base: Path | None = None, *, now: float | None = None) -> list[Path]:
    """Remove what older versions left in the temp dir (``LEGACY`` names), once a day old."""
    base = base if base is not None else Path(tempfile.gettempdir())
    cutoff = (time.time() if now is None else now) - LEGACY_AGE_S
    removed: list[Path] = []
    try:
        entries = [e for e in base.iterdir() if LEGACY.match(e.name)]
    except OSError:
        return removed
    for entry in entries:
        try:
            info = entry.lstat()
        except OSError:
            continue
        if info.st_mtime > cutoff or info.st_uid != os.getuid() or entry.is_symlink():
            continue
        _remove(entry)
        removed.append(entry)
    return removed


@functools.cache
def _remove_legacy_once() -> None:
    # Older versions stopped making these: one sweep per process is enough, and it spares every
    # later owned folder a scan of the whole temp dir.
    remove_legacy()
