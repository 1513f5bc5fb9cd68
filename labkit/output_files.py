"""Output files of long commands: checked before the work starts, written whole or not at all.

A load test or an optimisation run takes minutes; finding out afterwards that ``-o`` names a
folder, an unwritable place or nothing at all loses the measurement. ``output_path`` refuses such
a target up front, with one line; ``write_atomically`` writes a temporary file beside the target
and renames it, so a reader never sees half a file and a failure leaves no stray file behind.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from labkit.errors import OutputError


def output_path(
    value: str | os.PathLike[str] | None, *, what: str, create_folder: bool = False
) -> Path:
    """``value`` as a path a file can be written to, or ``OutputError`` saying why not
    (``create_folder``: make a missing folder for it first)."""
    text = "" if value is None else os.fspath(value)
    if not text.strip():
        raise OutputError(f"{what}: give a file name (an empty path names no file)")
    path = Path(text).expanduser()
    if path.is_dir():
        raise OutputError(f"{what}: {path} is a folder; give a file name inside it")
    if path.exists() and not stat.S_ISREG(path.stat().st_mode):
        raise OutputError(f"{what}: {path} is not a regular file")
    folder = path.parent if str(path.parent) else Path(".")
    if create_folder and not folder.exists():
        try:
            folder.mkdir(parents=True)
        except OSError as exc:
            raise OutputError(f"{what}: cannot create {folder} ({exc.strerror or exc})") from None
    if not folder.is_dir():
        raise OutputError(f"{what}: the folder {folder} does not exist")
    # Try it: os.access says yes to root on read-only mounts (/proc, a read-only bind).
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".probe")
    except OSError as exc:
        raise OutputError(f"{what}: cannot write in {folder} ({exc.strerror or exc})") from None
    os.close(fd)
    Path(probe).unlink(missing_ok=True)
    return path


def write_atomically(path: Path, data: str | bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file renamed into place."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return path


__all__ = ["OutputError", "output_path", "write_atomically"]
