"""Private copies of a dataset, so a check or an experiment cannot spoil the shared one."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from labkit.data.builder import build, check_seed, check_size, ensure
from labkit.data.dataset import find_problem, open_readonly
from labkit.data.location import data_dir, dataset_filename
from labkit.data.schema import DEFAULT_SEED
from labkit.data.scratch import owned_temp_file
from labkit.errors import DatasetError

_SIDE_FILES = ("-journal", "-wal", "-shm")


def fresh_copy(
    size: str = "tiny", seed: int = DEFAULT_SEED, dest: str | os.PathLike[str] | None = None
) -> Path:
    """Copy the dataset (building it first if needed) with SQLite's backup API; return the copy.

    ``dest`` defaults to a new file in labkit's temp folder; the caller deletes it (or use
    ``isolated_copy``, which does); one the caller forgot goes once its process has ended.
    A seed other than the default whose dataset is not already in the shared data folder is
    built straight into the copy: checks draw a fresh seed for every attempt, and keeping each
    of those in the data folder would grow it without bound.
    """
    size, seed = check_size(size), check_seed(seed)
    shared = data_dir() / dataset_filename(size, seed)
    target = _copy_target(size, seed, dest)
    if seed != DEFAULT_SEED and find_problem(shared, size, seed) is not None:
        try:
            build(size, seed, target, force=True)  # the copy's own file (or the caller's dest)
        except BaseException:
            remove_database(target)
            raise
        return target
    source = ensure(size, seed, quiet=True).path  # the copy is the caller's news, not the build
    try:
        src = open_readonly(source)
        try:
            dst = sqlite3.connect(target)
            try:
                src.backup(dst)
            finally:
                dst.close()
        finally:
            src.close()
    except (sqlite3.Error, OSError) as exc:
        remove_database(target)
        raise DatasetError(f"could not copy the {size} dataset to {target}: {exc}") from None
    return target


def _copy_target(size: str, seed: int, dest: str | os.PathLike[str] | None) -> Path:
    if dest is None:
        target = owned_temp_file("copy", suffix=f"-{size}-{seed}.sqlite")
    else:
        target = Path(dest).expanduser()
        if target.is_dir():
            target = target / dataset_filename(size, seed)
    return target


def remove_database(path: str | os.PathLike[str]) -> None:
    """Delete a database file and the journal files SQLite may have left beside it."""
    base = Path(path)
    for candidate in (base, *(base.with_name(base.name + s) for s in _SIDE_FILES)):
        with contextlib.suppress(FileNotFoundError):
            candidate.unlink()


@contextlib.contextmanager
def isolated_copy(size: str = "tiny", seed: int = DEFAULT_SEED) -> Iterator[Path]:
    """``with isolated_copy("tiny") as path: ...`` — a fresh copy, deleted afterwards."""
    path = fresh_copy(size, seed)
    try:
        yield path
    finally:
        remove_database(path)
