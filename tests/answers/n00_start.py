"""Discrimination cases for notebook 00: each check fails the stub and the wrong answers,
and passes the reference and a different correct answer."""

from __future__ import annotations

import re
import sqlite3
from typing import Any

import pandas as pd

from labkit.lessons.n00_start.latency_budget import server_budget_reference
from labkit.lessons.n00_start.server_timing import read_server_timing_reference
from labkit.lessons.n00_start.top_authors import top_authors_reference
from labkit.timing import parse_server_timing
from tests.answers import Case


def stub(*args: Any, **kwargs: Any) -> Any:
    raise NotImplementedError()


# ---- 00.top_authors ------------------------------------------------------------------------------
def top_authors_pandas(db: Any, k: int = 10) -> pd.DataFrame:
    """A different correct answer: two reads, counted and sorted in pandas."""
    posts = pd.read_sql("SELECT author_id, status FROM posts", db)
    users = pd.read_sql("SELECT id AS author_id, name FROM users", db)
    counts = (
        posts[posts["status"] == "published"]
        .groupby("author_id")
        .size()
        .rename("posts")
        .reset_index()
    )
    ranked = counts.merge(users, on="author_id").sort_values(
        ["posts", "author_id"], ascending=[False, True]
    )
    return ranked.head(k)[["author_id", "name", "posts"]]


def top_authors_n_plus_one(db: Any, k: int = 10) -> list[dict[str, Any]]:
    """Right rows, but one COUNT query per user: 1 + N statements."""
    rows = []
    for uid, name in db.execute("SELECT id, name FROM users").fetchall():
        (n,) = db.execute(
            "SELECT COUNT(*) FROM posts WHERE author_id = ? AND status = 'published'", (uid,)
        ).fetchone()
        if n:
            rows.append({"author_id": uid, "name": name, "posts": n})
    rows.sort(key=lambda r: (-r["posts"], r["author_id"]))
    return rows[:k]


def top_authors_every_status(db: Any, k: int = 10) -> list[dict[str, Any]]:
    """One statement, but drafts and archived posts are counted too."""
    sql = (
        "SELECT u.id, u.name, COUNT(*) AS n FROM posts p JOIN users u ON u.id = p.author_id "
        "GROUP BY u.id ORDER BY n DESC, u.id LIMIT ?"
    )
    return [{"author_id": a, "name": b, "posts": c} for a, b, c in db.execute(sql, (k,))]


def top_authors_ties_by_name(db: Any, k: int = 10) -> list[dict[str, Any]]:
    """One statement, but ties broken by name instead of author_id."""
    sql = (
        "SELECT u.id, u.name, COUNT(*) AS n FROM posts p JOIN users u ON u.id = p.author_id "
        "WHERE p.status = 'published' GROUP BY u.id ORDER BY n DESC, u.name LIMIT ?"
    )
    return [{"author_id": a, "name": b, "posts": c} for a, b, c in db.execute(sql, (k,))]


_SEED_42: dict[int, list[dict[str, Any]]] = {}


def top_authors_hard_coded(db: Any, k: int = 10) -> list[dict[str, Any]]:
    """Answers from a snapshot of the seed-42 data, whatever database it is given."""
    if not _SEED_42:
        from labkit.data import fresh_copy

        con = sqlite3.connect(fresh_copy(size="tiny", seed=42))
        for size in (5, 10, 25):
            _SEED_42[size] = top_authors_reference(con, size)
        con.close()
    return _SEED_42[k]


def top_authors_grouped_by_name(db: Any, k: int = 10) -> list[dict[str, Any]]:
    """One statement, but grouped by name: two authors called the same are merged."""
    sql = (
        "SELECT MIN(u.id), u.name, COUNT(*) AS n FROM posts p JOIN users u ON u.id = p.author_id "
        "WHERE p.status = 'published' GROUP BY u.name ORDER BY n DESC, MIN(u.id) LIMIT ?"
    )
    return [{"author_id": a, "name": b, "posts": c} for a, b, c in db.execute(sql, (k,))]


def top_authors_ties_by_newest(db: Any, k: int = 10) -> list[dict[str, Any]]:
    """One statement, but ties broken by the larger author_id."""
    sql = (
        "SELECT u.id, u.name, COUNT(*) AS n FROM posts p JOIN users u ON u.id = p.author_id "
        "WHERE p.status = 'published' GROUP BY u.id ORDER BY n DESC, u.id DESC LIMIT ?"
    )
    return [{"author_id": a, "name": b, "posts": c} for a, b, c in db.execute(sql, (k,))]


def top_authors_pandas_unstable(db: Any, k: int = 10) -> pd.DataFrame:
    """Right counts via pandas, but sorted by posts only: the tie order is whatever comes out."""
    posts = pd.read_sql("SELECT p.author_id, u.name FROM posts p JOIN users u "
                        "ON u.id = p.author_id WHERE p.status = 'published'", db)  # fmt: skip
    counts = posts.groupby(["author_id", "name"]).size().rename("posts").reset_index()
    counts = counts.sample(frac=1.0, random_state=1)  # the order groupby gives is not a promise
    return counts.sort_values("posts", ascending=False, kind="stable").head(k)


def top_authors_trace_off(db: Any, k: int = 10) -> list[dict[str, Any]]:
    """The N+1 loop after switching the statement log off: it would read 0 statements."""
    db.set_trace_callback(None)
    return top_authors_n_plus_one(db, k)


def top_authors_trace_off_after_one(db: Any, k: int = 10) -> list[dict[str, Any]]:
    """One statement seen, then the log silenced for the N more."""
    users = db.execute("SELECT id, name FROM users").fetchall()
    db.set_trace_callback(lambda statement: None)
    rows = []
    for uid, name in users:
        (n,) = db.execute(
            "SELECT COUNT(*) FROM posts WHERE author_id = ? AND status = 'published'", (uid,)
        ).fetchone()
        if n:
            rows.append({"author_id": uid, "name": name, "posts": n})
    rows.sort(key=lambda r: (-r["posts"], r["author_id"]))
    return rows[:k]


_BY_K: dict[int, list[dict[str, Any]]] = {}


def top_authors_memo_by_k(db: Any, k: int = 10) -> list[dict[str, Any]]:
    """Right the first time, then answers every later call with the same k from a memo."""
    if k not in _BY_K:
        _BY_K[k] = top_authors_reference(db, k)
    return _BY_K[k]


def top_authors_window(db: Any, k: int = 10) -> list[dict[str, Any]]:
    """A different correct answer: a window function ranks, the outer query cuts at k."""
    sql = (
        "SELECT author_id, name, posts FROM ("
        " SELECT u.id AS author_id, u.name AS name, c.posts AS posts,"
        "  ROW_NUMBER() OVER (ORDER BY c.posts DESC, u.id) AS place"
        " FROM (SELECT author_id, COUNT(*) AS posts FROM posts WHERE status = 'published'"
        "  GROUP BY author_id) c JOIN users u ON u.id = c.author_id"
        ") WHERE place <= ? ORDER BY place"
    )
    names = ("author_id", "name", "posts")
    return [dict(zip(names, row, strict=True)) for row in db.execute(sql, (k,))]


# ---- 00.server_timing ----------------------------------------------------------------------------
def read_server_timing_scanner(header: str) -> dict[str, float]:
    """A different correct answer: a character scanner that respects quotes."""
    metrics: list[str] = []
    current: list[str] = []
    quoted = False
    for char in header:
        if char == '"':
            quoted = not quoted
        if char == "," and not quoted:
            metrics.append("".join(current))
            current = []
        else:
            current.append(char)
    metrics.append("".join(current))
    phases: dict[str, float] = {}
    for metric in metrics:
        parts: list[str] = []
        piece: list[str] = []
        quoted = False
        for char in metric:
            if char == '"':
                quoted = not quoted
            if char == ";" and not quoted:
                parts.append("".join(piece))
                piece = []
            else:
                piece.append(char)
        parts.append("".join(piece))
        name = parts[0].strip()
        for param in parts[1:]:
            key, _, value = param.partition("=")
            if key.strip() == "dur" and name and name not in phases:
                phases[name] = float(value.strip())
    return phases


def read_server_timing_naive_split(header: str) -> dict[str, float]:
    """Splits at every comma and semicolon: a quoted desc with ',' or ';' breaks it."""
    phases = {}
    for metric in header.split(","):
        parts = metric.strip().split(";")
        for param in parts[1:]:
            if param.strip().startswith("dur="):
                phases[parts[0].strip()] = float(param.strip()[4:])
    return phases


def read_server_timing_known_names(header: str) -> dict[str, float]:
    """Only looks for the lab API's own names (db, cache, total)."""
    found = re.findall(r"\b(db|cache|total);\s*dur=([0-9.]+)", header)
    return {name: float(value) for name, value in found}


def read_server_timing_strings(header: str) -> dict[str, str]:
    """Right names, but the durations stay strings."""
    return {name: str(value) for name, value in read_server_timing_reference(header).items()}


def read_server_timing_seconds(header: str) -> dict[str, float]:
    """Right reading, but the durations converted to seconds."""
    return {name: ms / 1000 for name, ms in read_server_timing_scanner(header).items()}


def read_server_timing_through_labkit(header: str) -> dict[str, float]:
    """Hands the header to labkit's own parser: a reference, not the learner's reader."""
    return parse_server_timing(header)


def read_server_timing_last_wins(header: str) -> dict[str, float]:
    """Quote-aware, but a repeated name (or dur) overwrites the first one."""
    phases: dict[str, float] = {}
    for metric in re.findall(r'(?:[^,"]|"[^"]*")+', header):
        parts = re.findall(r'(?:[^;"]|"[^"]*")+', metric)
        for param in parts[1:]:
            key, _, value = param.partition("=")
            if key.strip() == "dur":
                phases[parts[0].strip()] = float(value.strip())
    return phases


def read_server_timing_search_dur(header: str) -> dict[str, float]:
    """Quote-aware on commas, then searches `dur=` anywhere in the metric: a desc saying
    "dur=99" is read as the duration."""
    phases: dict[str, float] = {}
    for metric in re.findall(r'(?:[^,"]|"[^"]*")+', header):
        name = re.match(r"\s*([\w.-]+)", metric)
        found = re.search(r"dur\s*=\s*([0-9.]+)", metric)
        if name and found and name.group(1) not in phases:
            phases[name.group(1)] = float(found.group(1))
    return phases


def read_server_timing_no_spaces(header: str) -> dict[str, float]:
    """Quote-aware, but expects `;dur=` written without spaces around `;` and `=`."""
    phases: dict[str, float] = {}
    for metric in re.findall(r'(?:[^,"]|"[^"]*")+', header):
        found = re.match(
            r"\s*([\w.-]+)(?:;[^;]*?)*?;dur=([0-9.]+)", re.sub(r'"[^"]*"', '""', metric)
        )
        if found and found.group(1) not in phases:
            phases[found.group(1)] = float(found.group(2))
    return phases


def read_server_timing_commas_only(header: str) -> dict[str, float]:
    """Quote-aware on commas but splits each metric at every `;`, inside quotes too."""
    phases: dict[str, float] = {}
    for metric in re.findall(r'(?:[^,"]|"[^"]*")+', header):
        name, *params = metric.split(";")
        for param in params:
            key, _, value = param.partition("=")
            if key.strip() == "dur" and name.strip() not in phases:
                phases[name.strip()] = float(value.strip())
                break
    return phases


_SEED_42_HEADERS: dict[str, dict[str, float]] = {}


def read_server_timing_hard_coded(header: str) -> dict[str, float]:
    """Answers typed in from what seed 42's check showed (a lookup table, not a reader)."""
    if not _SEED_42_HEADERS:
        from labkit.lessons.n00_start.server_timing import headers_for

        _SEED_42_HEADERS.update(dict(headers_for(42)))
    return _SEED_42_HEADERS.get(header, {})


# ---- 00.latency_budget ---------------------------------------------------------------------------
def server_budget_loop(phases: dict[str, float]) -> dict[str, float]:
    """A different correct answer: sums by a table of which header phase feeds which."""
    feeds = {"db": "I/O", "cache": "I/O", "app": "handler", "ser": "serialisation"}
    budget = dict.fromkeys(("I/O", "handler", "serialisation", "middleware"), 0.0)
    for name, ms in phases.items():
        if name in feeds:
            budget[feeds[name]] += ms
    budget["middleware"] = max(0.0, phases["total"] - sum(budget.values()))
    return budget


def server_budget_handler_by_subtraction(phases: dict[str, float]) -> dict[str, float]:
    """Ignores `app`: the handler is whatever the total leaves, so the middleware reads 0."""
    io = phases.get("db", 0.0) + phases.get("cache", 0.0)
    ser = phases.get("ser", 0.0)
    return {"I/O": io, "handler": max(0.0, phases["total"] - io - ser), "serialisation": ser,
            "middleware": 0.0}  # fmt: skip


def server_budget_no_cache(phases: dict[str, float]) -> dict[str, float]:
    """I/O is the database only: the cache's time lands in the middleware."""
    io, app, ser = phases.get("db", 0.0), phases.get("app", 0.0), phases.get("ser", 0.0)
    return {"I/O": io, "handler": app, "serialisation": ser,
            "middleware": max(0.0, phases["total"] - io - app - ser)}  # fmt: skip


def server_budget_negative_middleware(phases: dict[str, float]) -> dict[str, float]:
    """Right, except the middleware may come out below 0 when the parts exceed the total."""
    io = phases.get("db", 0.0) + phases.get("cache", 0.0)
    app, ser = phases.get("app", 0.0), phases.get("ser", 0.0)
    return {"I/O": io, "handler": app, "serialisation": ser,
            "middleware": phases["total"] - io - app - ser}  # fmt: skip


def server_budget_every_phase_present(phases: dict[str, float]) -> dict[str, float]:
    """Assumes the header always has every phase: a cache hit without db raises KeyError."""
    io, app, ser = phases["db"] + phases["cache"], phases["app"], phases["ser"]
    return {"I/O": io, "handler": app, "serialisation": ser,
            "middleware": max(0.0, phases["total"] - io - app - ser)}  # fmt: skip


CASES = {
    "00.top_authors": Case(
        stub=(stub,),
        reference=(top_authors_reference,),
        alternatives=[(top_authors_pandas,), (top_authors_window,)],
        wrong={
            "n_plus_one": (top_authors_n_plus_one,),
            "every_status": (top_authors_every_status,),
            "ties_by_name": (top_authors_ties_by_name,),
            "hard_coded": (top_authors_hard_coded,),
            "grouped_by_name": (top_authors_grouped_by_name,),
            "ties_by_newest": (top_authors_ties_by_newest,),
            "pandas_unstable_ties": (top_authors_pandas_unstable,),
            "memo_by_k": (top_authors_memo_by_k,),
            "trace_callback_off": (top_authors_trace_off,),
            "trace_off_after_one": (top_authors_trace_off_after_one,),
        },
        fits_default_seed=("hard_coded",),
    ),
    "00.server_timing": Case(
        stub=(stub,),
        reference=(read_server_timing_reference,),
        alternatives=[(read_server_timing_scanner,)],
        wrong={
            "naive_split": (read_server_timing_naive_split,),
            "known_names_only": (read_server_timing_known_names,),
            "strings": (read_server_timing_strings,),
            "seconds": (read_server_timing_seconds,),
            "labkit_parser": (parse_server_timing,),
            "through_labkit_parser": (read_server_timing_through_labkit,),
            "last_wins": (read_server_timing_last_wins,),
            "search_dur": (read_server_timing_search_dur,),
            "no_spaces": (read_server_timing_no_spaces,),
            "commas_only": (read_server_timing_commas_only,),
            "hard_coded": (read_server_timing_hard_coded,),
        },
        fits_default_seed=("hard_coded",),
    ),
    "00.latency_budget": Case(
        stub=(stub,),
        reference=(server_budget_reference,),
        alternatives=[(server_budget_loop,)],
        wrong={
            "handler_by_subtraction": (server_budget_handler_by_subtraction,),
            "no_cache_in_io": (server_budget_no_cache,),
            "negative_middleware": (server_budget_negative_middleware,),
            "every_phase_present": (server_budget_every_phase_present,),
        },
    ),
}
