"""A built dataset file: its description (``Dataset``), its metadata table, its health checks."""

from __future__ import annotations

import html
import json
import os
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from labkit.data.fingerprint import fingerprint_connection
from labkit.data.generator import GENERATOR_VERSION
from labkit.data.schema import SIZES, TABLES
from labkit.display import TextView
from labkit.errors import DatasetError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

META_TABLE = "labkit_meta"
# "LBKT" as a big-endian int; lets `file`-style tools and our own checks recognise the file
APPLICATION_ID = 0x4C424B54
META_SCHEMA = f"CREATE TABLE {META_TABLE} (key TEXT PRIMARY KEY, value TEXT NOT NULL)"


@dataclass(frozen=True, repr=False)
class Dataset(TextView):
    """One dataset file: where it is, what it holds, and its fingerprint."""

    path: Path
    size: str
    seed: int
    fingerprint: str
    counts: dict[str, int]
    seconds: float  # how long the build took (when it was built, not now)
    built_now: bool = field(default=False, compare=False)

    @property
    def rows(self) -> int:
        return sum(self.counts.values())

    def __fspath__(self) -> str:
        return str(self.path)

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        frame = pd.DataFrame({"table": list(self.counts), "rows": list(self.counts.values())})
        return frame.set_index("table")

    def __str__(self) -> str:
        lines = [
            f"{self.size} dataset (seed {self.seed}) at {self.path}",
            f"fingerprint {self.fingerprint[:16]}…  built in {self.seconds:.2f} s",
        ]
        width = max(len(t) for t in self.counts) if self.counts else 0
        lines += [f"  {t:<{width}}  {n:>9,}" for t, n in self.counts.items()]
        lines.append(f"  {'total':<{width}}  {self.rows:>9,}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        body = "".join(
            f"<tr><td>{html.escape(t)}</td><td style='text-align:right'>{n:,}</td></tr>"
            for t, n in self.counts.items()
        )
        return (
            f"<div><b>{html.escape(self.size)}</b> dataset, seed {self.seed} — "
            f"<code>{html.escape(str(self.path))}</code><br>"
            f"fingerprint <code>{self.fingerprint[:16]}…</code>, built in {self.seconds:.2f} s"
            f"<table><tr><th>table</th><th>rows</th></tr>{body}"
            f"<tr><td><b>total</b></td><td style='text-align:right'><b>{self.rows:,}</b></td>"
            f"</tr></table></div>"
        )


def write_meta(conn: sqlite3.Connection, values: Mapping[str, object]) -> None:
    conn.execute(META_SCHEMA)
    conn.executemany(
        f"INSERT INTO {META_TABLE} (key, value) VALUES (?, ?)",
        [(k, v if isinstance(v, str) else json.dumps(v)) for k, v in values.items()],
    )
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute(f"PRAGMA user_version = {GENERATOR_VERSION}")


def open_readonly(path: Path) -> sqlite3.Connection:
    """Open without ever creating a file (a missing path is an error, not an empty database)."""
    if not path.is_file():
        raise DatasetError(f"no dataset file at {path}")
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)


def read_dataset(path: str | os.PathLike[str]) -> Dataset:
    """Describe a dataset file from its metadata (cheap: no rows are read)."""
    file = Path(path)
    try:
        conn = open_readonly(file)
        try:
            meta = dict(conn.execute(f"SELECT key, value FROM {META_TABLE}").fetchall())
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise DatasetError(_describe_sqlite_error(file, exc)) from None
    try:
        return Dataset(
            path=file,
            size=str(meta["size"]),
            seed=int(meta["seed"]),
            fingerprint=str(meta["fingerprint"]),
            counts={str(k): int(v) for k, v in json.loads(meta["counts"]).items()},
            seconds=float(meta["build_seconds"]),
        )
    except (KeyError, ValueError, TypeError, AttributeError):
        raise DatasetError(f"{file} has no readable labkit metadata: rebuild it") from None


def _describe_sqlite_error(path: Path, exc: sqlite3.DatabaseError) -> str:
    text = str(exc)
    if "no such table" in text:
        return f"{path} is an SQLite database but not a labkit dataset (no {META_TABLE} table)"
    if "not a database" in text or "malformed" in text:
        return f"{path} is damaged or not an SQLite database ({text})"
    return f"cannot read {path}: {text}"


def find_problem(
    path: Path, size: str | None = None, seed: int | None = None, *, deep: bool = False
) -> str | None:
    """What is wrong with a dataset file, in a few words, or None when it looks healthy.

    The quick checks (integrity, metadata, schema objects, row counts) cost milliseconds for the
    small dataset; ``deep=True`` also recomputes the fingerprint from every row.
    """
    if not path.is_file():
        return "is missing"
    try:
        conn = open_readonly(path)
    except (DatasetError, sqlite3.Error) as exc:
        return f"cannot be opened ({exc})"
    try:
        return _inspect(conn, path, size, seed, deep)
    except sqlite3.DatabaseError as exc:
        return f"is damaged ({exc})"
    finally:
        conn.close()


def _inspect(
    conn: sqlite3.Connection, path: Path, size: str | None, seed: int | None, deep: bool
) -> str | None:
    check = conn.execute("PRAGMA quick_check").fetchone()
    if not check or check[0] != "ok":
        # quick_check reports one line per damaged page: the first says enough.
        first = str(check[0]).strip().splitlines()[0][:120] if check else "no answer"
        return f"failed SQLite's integrity check ({first})"
    try:
        ds = read_dataset(path)
    except DatasetError:
        return "has no labkit metadata (not built by labkit, or damaged)"
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version != GENERATOR_VERSION:
        return f"was made by generator version {version}, this labkit uses {GENERATOR_VERSION}"
    if size is not None and ds.size != size:
        return f"holds the {ds.size} dataset, not {size}"
    if seed is not None and ds.seed != seed:
        return f"was built with seed {ds.seed}, not {seed}"
    expected_objects = {("table", name) for name in (*TABLES, META_TABLE)}
    expected_objects.add(("index", f"sqlite_autoindex_{META_TABLE}_1"))
    objects = set(conn.execute("SELECT type, name FROM sqlite_master").fetchall())
    extra = sorted(name for kind, name in objects - expected_objects)
    missing = sorted(name for kind, name in expected_objects - objects)
    if missing:
        return f"lacks {', '.join(missing)}"
    if extra:
        return f"has been modified (extra {', '.join(extra)})"
    expected_counts = SIZES.get(ds.size, ds.counts)
    for table in TABLES:
        (count,) = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
        if count != ds.counts.get(table) or count != expected_counts.get(table):
            return f"has {count:,} rows in {table}, expected {expected_counts.get(table, 0):,}"
    if deep and fingerprint_connection(conn) != ds.fingerprint:
        return "has rows that differ from the ones it was built with (fingerprint mismatch)"
    return None
