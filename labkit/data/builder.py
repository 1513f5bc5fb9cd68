"""Build a dataset file atomically, and keep the shared copy present and healthy (``ensure``)."""

from __future__ import annotations

import contextlib
import gc
import os
import re
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from labkit.data.dataset import Dataset, find_problem, read_dataset, write_meta
from labkit.data.fingerprint import Fingerprint, table_columns
from labkit.data.generator import GENERATOR_VERSION, generate
from labkit.data.location import data_dir, dataset_filename
from labkit.data.schema import DEFAULT_SEED, SCHEMA, SIZES
from labkit.errors import DatasetError

INSERT_CHUNK = 100_000


def check_size(size: object) -> str:
    if not isinstance(size, str) or size not in SIZES:
        raise DatasetError(f"unknown dataset size {size!r}: choose one of {', '.join(SIZES)}")
    return size


def check_seed(seed: object) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise DatasetError(f"the seed must be a whole number ≥ 0, got {seed!r}")
    return seed


SQLITE_HEADER = b"SQLite format 3\x00"
# A temporary build: ``.<target name>.<builder pid>.<random>.tmp`` next to the target.
TEMP_BUILD = re.compile(r"^\.(?P<target>.+?)\.(?P<pid>\d+)\.[^.]+\.tmp$")
# Temporary builds named before the pid was part of the name: removed once surely abandoned.
OLD_TEMP_BUILD = re.compile(r"^\..+\.sqlite\.[^.]+\.tmp$")
OLD_TEMP_AGE_S = 3600.0


def is_labkit_dataset(path: Path) -> bool:
    """A regular file that labkit built (even a damaged one): safe to replace with a new build.

    Only the first page is read: an SQLite header and labkit's metadata table in the schema.
    """
    if not path.is_file():
        return False
    try:
        with path.open("rb") as handle:
            head = handle.read(65536)
    except OSError:
        return False
    return head.startswith(SQLITE_HEADER) and b"labkit_meta" in head


def refuse_to_overwrite(target: Path, force: bool) -> None:
    """Replace only a labkit dataset (or, with ``force``, a regular file); never anything else."""
    if not (target.exists() or target.is_symlink()):
        return
    if target.is_symlink() or not target.is_file():
        raise DatasetError(f"{target} exists and is not a regular file: choose another --out")
    if not force and not is_labkit_dataset(target):
        raise DatasetError(
            f"{target} exists and is not a labkit dataset: choose another --out, "
            "or pass --force to replace it"
        )


def _builder_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # a process of another user
    return True


def remove_stale_builds(folder: Path) -> list[Path]:
    """Delete temporary builds in ``folder`` whose builder process is gone (a killed build).

    A build still running elsewhere keeps its file; a pid-less file from an older labkit goes
    once it is an hour old. Returns what was removed.
    """
    removed: list[Path] = []
    try:
        candidates = list(folder.glob(".*.tmp"))
    except OSError:
        return removed
    now = time.time()
    for path in candidates:
        match = TEMP_BUILD.match(path.name)
        try:
            if match is not None:
                if _builder_alive(int(match["pid"])):
                    continue
            elif not OLD_TEMP_BUILD.match(path.name) or now - path.stat().st_mtime < OLD_TEMP_AGE_S:
                continue
            path.unlink()
            removed.append(path)
        except OSError:
            continue
    return removed


def _target(path: str | os.PathLike[str] | None, size: str, seed: int) -> Path:
    if path is None:
        return data_dir() / dataset_filename(size, seed)
    target = Path(path).expanduser()
    if target.is_dir():
        target = target / dataset_filename(size, seed)
    blocker = next((p for p in (target.parent, *target.parent.parents) if p.exists()), None)
    if blocker is not None and not blocker.is_dir():
        raise DatasetError(f"cannot write to {target}: {blocker} is a file, not a folder")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatasetError(f"cannot create folder {target.parent}: {exc.strerror or exc}") from None
    if not os.access(target.parent, os.W_OK):
        raise DatasetError(f"cannot write to {target.parent}: permission denied")
    return target


def build(
    size: str = "small",
    seed: int = DEFAULT_SEED,
    path: str | os.PathLike[str] | None = None,
    progress: bool = False,
    *,
    force: bool = False,
) -> Dataset:
    """Generate the dataset and write it to ``path`` (default: ``data_dir()/<size>-<seed>.sqlite``).

    The file is written under a temporary name in the same folder and renamed into place, so a
    reader never sees half a database, an interrupted build leaves nothing behind, and two
    processes building the same file at once both end with a complete one. An existing file at
    ``path`` is replaced only if it is a labkit dataset, or with ``force`` a regular file.
    Temporary files of earlier builds that were killed are removed first.
    """
    size, seed = check_size(size), check_seed(seed)
    target = _target(path, size, seed)
    refuse_to_overwrite(target, force)
    remove_stale_builds(target.parent)
    started = time.perf_counter()
    try:
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp", dir=target.parent
        )
    except OSError as exc:
        raise DatasetError(f"cannot write to {target.parent}: {exc.strerror or exc}") from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        fingerprint = _write(tmp, size, seed, progress)
        seconds = time.perf_counter() - started
        conn = sqlite3.connect(tmp)
        try:
            with conn:
                write_meta(
                    conn,
                    {
                        "format": "labkit-dataset",
                        "generator_version": GENERATOR_VERSION,
                        "size": size,
                        "seed": seed,
                        "fingerprint": fingerprint,
                        "counts": dict(SIZES[size]),
                        "build_seconds": round(seconds, 4),
                    },
                )
        finally:
            conn.close()
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except sqlite3.Error as exc:
        raise DatasetError(f"could not write {target}: {exc}") from None
    except OSError as exc:
        raise DatasetError(f"could not write {target}: {exc.strerror or exc}") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return Dataset(
        path=target,
        size=size,
        seed=seed,
        fingerprint=fingerprint,
        counts=dict(SIZES[size]),
        seconds=seconds,
        built_now=True,
    )


def _write(tmp: Path, size: str, seed: int, progress: bool) -> str:
    """Create the schema and insert every row in one transaction; return the fingerprint."""
    conn = sqlite3.connect(tmp, isolation_level=None)
    bar = _progress_bar(size) if progress else None
    # Millions of fresh tuples would trigger full cyclic-GC passes over everything built so far;
    # the rows hold no cycles, so the collector only costs time here.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        # Safe only because the file is private until the rename: a crash loses a temp file.
        conn.execute("PRAGMA journal_mode = OFF")
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("PRAGMA cache_size = -131072")  # 128 MiB: keeps page spills off the hot path
        conn.executescript(SCHEMA)
        fp = Fingerprint()
        conn.execute("BEGIN")
        for table in generate(size, seed):
            columns = table_columns(conn, table.name)
            fp.table(table.name, columns)
            sql = f"INSERT INTO {table.name} VALUES ({', '.join('?' * len(columns))})"
            for chunk in _chunks(table.rows):
                conn.executemany(sql, chunk)
                fp.rows(chunk)
                if bar is not None:
                    bar.update(len(chunk))
        conn.execute("COMMIT")
        return fp.hexdigest()
    finally:
        if gc_was_enabled:
            gc.enable()
        conn.close()
        if bar is not None:
            bar.close()


def _chunks(rows: list[tuple[object, ...]]) -> Iterator[list[tuple[object, ...]]]:
    for start in range(0, len(rows), INSERT_CHUNK):
        yield rows[start : start + INSERT_CHUNK]


def _progress_bar(size: str) -> Any:
    from tqdm.auto import tqdm

    return tqdm(
        total=sum(SIZES[size].values()),
        desc=f"building {size}",
        unit=" rows",
        unit_scale=True,
        leave=False,
    )


@contextlib.contextmanager
def _build_lock(target: Path) -> Iterator[None]:
    """Serialise builds of one file across processes (pytest-xdist workers, notebooks)."""
    try:
        import fcntl
    except ImportError:  # Windows: two builders just both build; the rename keeps it safe
        yield
        return
    lock_path = target.with_name(target.name + ".lock")
    try:
        handle = open(lock_path, "a+b")  # noqa: SIM115 - held for the whole block
    except OSError:
        yield
        return
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        handle.close()


def ensure(
    size: str = "small", seed: int = DEFAULT_SEED, progress: bool = False, *, quiet: bool = False
) -> Dataset:
    """The shared dataset in ``data_dir()``: returned at once when healthy, else (re)built.

    "Healthy" is checked cheaply (SQLite quick_check, metadata, schema objects, row counts);
    a missing, damaged or modified file is rebuilt with a one-line message saying why (unless
    ``quiet``: a check building its seed's data must not print into the learner's output).
    """
    size, seed = check_size(size), check_seed(seed)
    target = data_dir() / dataset_filename(size, seed)
    problem = find_problem(target, size, seed)
    if problem is None:
        return read_dataset(target)
    with _build_lock(target):
        problem = find_problem(target, size, seed)  # another process may have just built it
        if problem is None:
            return read_dataset(target)
        if quiet:
            pass
        elif problem != "is missing":
            print(f"labkit: the {size} dataset at {target} {problem}: rebuilding it")
        else:
            print(f"labkit: building the {size} dataset (seed {seed}) at {target}")
        return build(size, seed, target, progress=progress, force=True)
