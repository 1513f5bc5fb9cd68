"""labkit's temporary files and folders, in one folder labkit owns, removed even after a crash.

Each is named ``<kind>-<owner pid>-<random>`` under ``<temp dir>/labkit`` (lab servers, app
copies, dataset copies): removed by its owner when it is done, and by the next one labkit
creates once the owner process is gone (killed, or stopped by a signal that ran no clean-up).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Final

OWNED: Final = re.compile(r"^(?P<kind>server|app|copy|lesson|check)-(?P<pid>\d+)-")


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
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                entry.unlink()
        removed.append(entry)
    return removed
