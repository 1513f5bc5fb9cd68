"""A regression test for the N+1 fix: the learner's test asserts a statement budget.

Django's ``assertNumQueries`` keeps an N+1 from coming back: the test loads a page and fails
when it takes more statements than the fix needs. The learner writes such a test; the check
*runs* it against several loaders it hands in as ``users_with_posts``. It must pass on the
correct ones (a JOIN, 1 statement; an ``IN (...)`` batch, 2) and fail with an
``AssertionError`` on every regression: the N+1 loop, one statement too many, posts fetched in
chunks, a query per row for only some rows, and a single JOIN that drops users without posts.

What the test is given varies per attempt (page sizes, users without posts, the order of the
loaders), so a test tuned to one run — a length typed in, a budget read off one N+1 count, a
count remembered from its first call — fails another.
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from labkit.errors import DatabaseError
from labkit.grading import exercise, reference_answer
from labkit.grading.references import grader_side
from labkit.lessons.n02_queries.fixtures import (
    fetch_all,
    learner_outcome,
    rng_for,
    trusted_instruments,
)
from labkit.lessons.n02_queries.n_plus_one import (
    UserWithPosts,
    add_user_without_posts,
    users_with_posts_batched,
    users_with_posts_join,
    users_with_posts_n_plus_one,
)

if TYPE_CHECKING:
    from labkit.grading import Grader, LearnerError

Loader = Callable[[Any, Sequence[int]], Awaitable[list[UserWithPosts]]]

BUDGET = 2
"""Statements the fixed loader may send for a page, whatever its size."""

CHUNK = 10
"""Users per ``IN (...)`` query in the chunked regression."""


@reference_answer
async def statement_budget_test_reference(
    users_with_posts: Loader, db: Any, user_ids: Sequence[int]
) -> None:
    """Fail when ``users_with_posts`` needs more than 2 statements or loses a requested user."""
    from labkit.db import statement_log

    with statement_log(db) as log:
        page = await users_with_posts(db, user_ids)
    assert log.count <= BUDGET, f"{log.count} statements for {len(user_ids)} users:\n{log}"
    assert [user["id"] for user in page] == list(user_ids), "users lost or out of order"


# ---- the regressions the learner's test must catch ----------------------------------------------
def _marks(n: int) -> str:
    return ", ".join("?" * n)


async def users_with_posts_and_total(db: Any, user_ids: Sequence[int]) -> list[UserWithPosts]:
    """The batch, plus a COUNT for the page header: one statement over the budget."""
    page = await users_with_posts_batched(db, user_ids)
    ids = list(user_ids)
    sql = f"SELECT COUNT(*) FROM posts WHERE author_id IN ({_marks(len(ids))})"
    async with db.execute(sql, ids) as cur:
        await cur.fetchone()
    return page


async def users_with_posts_in_chunks(db: Any, user_ids: Sequence[int]) -> list[UserWithPosts]:
    """Posts fetched ``CHUNK`` users at a time: 2 statements for a small page, more for more."""
    ids = list(user_ids)
    if not ids:
        return []
    async with db.execute(f"SELECT id, name FROM users WHERE id IN ({_marks(len(ids))})", ids) as c:
        names = {row[0]: row[1] for row in await c.fetchall()}
    posts: dict[int, list[dict[str, Any]]] = {uid: [] for uid in names}
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        sql = (
            f"SELECT author_id, id, title FROM posts WHERE author_id IN ({_marks(len(chunk))}) "
            "ORDER BY id"
        )
        async with db.execute(sql, chunk) as cur:
            for author_id, post_id, title in await cur.fetchall():
                posts[author_id].append({"id": post_id, "title": title})
    return [{"id": uid, "name": names[uid], "posts": posts[uid]} for uid in ids if uid in names]


async def users_with_posts_second_look(db: Any, user_ids: Sequence[int]) -> list[UserWithPosts]:
    """The batch, then one more query for each user whose list came back empty: a query per
    row, but only for some rows (a page of busy authors never shows it)."""
    page = await users_with_posts_batched(db, user_ids)
    for user in page:
        if not user["posts"]:
            async with db.execute(
                "SELECT id, title FROM posts WHERE author_id = ? ORDER BY id", (user["id"],)
            ) as cur:
                user["posts"] = [{"id": r[0], "title": r[1]} for r in await cur.fetchall()]
    return page


async def users_with_posts_inner_join(db: Any, user_ids: Sequence[int]) -> list[UserWithPosts]:
    """One statement, but an INNER JOIN drops the users who have no posts."""
    ids = list(user_ids)
    sql = (
        "SELECT u.id, u.name, p.id, p.title FROM users u JOIN posts p ON p.author_id = u.id "
        f"WHERE u.id IN ({_marks(len(ids))}) ORDER BY u.id, p.id"
    )
    by_user: dict[int, UserWithPosts] = {}
    async with db.execute(sql, ids) as cur:
        for uid, name, post_id, title in await cur.fetchall():
            by_user.setdefault(uid, {"id": uid, "name": name, "posts": []})["posts"].append(
                {"id": post_id, "title": title}
            )
    return [by_user[uid] for uid in ids if uid in by_user]


@dataclass(frozen=True)
class Version:
    """One loader handed to the learner's test, and what the test should make of it."""

    label: str
    load: Loader
    correct: bool
    hint: str


VERSIONS = (
    Version(
        "a LEFT JOIN",
        users_with_posts_join,
        True,
        "A correct loader failed your test. A JOIN sends 1 statement and an IN (...) batch 2: "
        "assert at most 2 (`<=`), and compare the users you get with `user_ids` rather than "
        "with numbers written down from one run.",
    ),
    Version(
        "an IN (...) batch",
        users_with_posts_batched,
        True,
        "A correct loader failed your test: 2 statements is within the budget (`<= 2`).",
    ),
    Version(
        "the N+1 loop",
        users_with_posts_n_plus_one,
        False,
        "Your test passed a loader that sends one query per user. Count the statements with "
        "`statement_log(db)` around the call, on the `user_ids` you are given, and "
        "`assert log.count <= 2` — outside any try/except, so the failure reaches the runner.",
    ),
    Version(
        "the batch plus a COUNT",
        users_with_posts_and_total,
        False,
        "Your test passed a loader that sends 3 statements: the budget is 2, whatever the page "
        "size — a looser bound lets the next extra query in unnoticed.",
    ),
    Version(
        f"posts in chunks of {CHUNK} users",
        users_with_posts_in_chunks,
        False,
        f"Your test passed a loader that sends one query per {CHUNK} users: load every user in "
        f"`user_ids` (more than {CHUNK}), so the page is big enough to show it.",
    ),
    Version(
        "a second look per user without posts",
        users_with_posts_second_look,
        False,
        "Your test passed a loader that queries again for each user without posts: load "
        "exactly the `user_ids` you are given (they include such users) and count every "
        "statement.",
    ),
    Version(
        "an INNER JOIN",
        users_with_posts_inner_join,
        False,
        "Your test passed a loader that drops users without posts (1 statement, wrong page): "
        "also assert that the ids you get back are `user_ids`, in order.",
    ),
)


def handed_to_test(load: Loader, calls: list[list[int]]) -> Loader:
    """The loader as the learner's test sees it: the same name and code for every version,
    noting the users each call asked for. Running labkit's loader is the grader's doing (two
    of them are reference answers), not the learner's."""

    async def users_with_posts(db: Any, user_ids: Sequence[int]) -> list[UserWithPosts]:
        calls.append(list(user_ids))
        with grader_side():
            return await load(db, user_ids)

    return users_with_posts


@dataclass(frozen=True)
class Verdict:
    """What the learner's test did with one version, and what that version did."""

    version: Version
    raised: LearnerError | None
    users: int  # users the test asked for (last call)
    statements: int  # statements the version sends for them, counted by the grader

    @property
    def as_expected(self) -> bool:
        return (self.raised is None) == self.version.correct


async def page_ids(db: Any, rng: random.Random, quiet: list[int]) -> list[int]:
    """A page of existing users in seeded order, more than ``CHUNK`` of them, with every user
    without posts among them."""
    rows = await fetch_all(db, "SELECT id FROM users ORDER BY id")
    busy = [int(row[0]) for row in rows if row[0] not in quiet]
    ids = rng.sample(busy, rng.randint(CHUNK + 2, min(len(busy), 4 * CHUNK)))
    for uid in quiet:
        ids.insert(rng.randrange(len(ids) + 1), uid)
    return ids


async def run_test_on(
    g: Grader, test: Any, version: Version, path: Path, ids: list[int]
) -> Verdict:
    """Run the learner's test on one version (a fresh connection), then count that version."""
    from labkit.db import connect, statement_log
    from labkit.grading import NotYet

    calls: list[list[int]] = []
    async with connect(path) as db:
        outcome = await learner_outcome(g, test, handed_to_test(version.load, calls), db, ids)
        g.expect(
            bool(calls),
            "your test never called `users_with_posts`: a regression test runs the code it "
            "guards (`await users_with_posts(db, user_ids)`) and asserts on what it saw",
        )
        raised = outcome.raised
        if raised is not None and raised.type_name != "AssertionError":
            raise NotYet(
                f"{raised.summary()} — on {version.label}. A regression test fails with an "
                "AssertionError (a plain `assert`); any other exception reads as a broken test.",
                learner_error=raised,
            )
        try:
            with trusted_instruments(), statement_log(db) as log:
                await version.load(db, calls[-1])
            with trusted_instruments():
                statements = log.count
        except (sqlite3.Error, ValueError, DatabaseError) as exc:  # the test closed `db`
            raise NotYet(
                f"After your test ran, the connection it was given no longer works ({exc}): "
                "leave `db` open and usable",
            ) from None
    return Verdict(version, raised, len(calls[-1]), statements)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _line(verdict: Verdict) -> str:
    """One version's line on the card: what it sent, what the test made of it."""
    v = verdict.version
    did = "failed" if verdict.raised is not None else "passed"
    should = "pass" if v.correct else "fail"
    return (
        f"{'✓' if verdict.as_expected else '✗'} {v.label} "
        f"({_count(verdict.statements, 'statement')} for {_count(verdict.users, 'user')}): "
        f"your test {did} (it should {should})"
    )


def _hint(verdicts: list[Verdict]) -> str | None:
    """The hint of the first version the test misjudged."""
    for verdict in verdicts:
        if not verdict.as_expected:
            if verdict.raised is not None:  # a correct loader failed: show why
                return f"{verdict.raised.summary()}. {verdict.version.hint}"
            return verdict.version.hint
    return None


@exercise(
    "02.statement_budget_test",
    title="A regression test for the statement budget",
    answers=("test_users_with_posts_budget",),
    hint=(
        "Your test gets the loader, a connection and a page of ids. Count what one call sends "
        "and assert it stays within the budget the fix needs — and that the page is right."
    ),
    points=2,
    timeout=30.0,
)
async def grade_statement_budget_test(g: Grader, test_users_with_posts_budget: Any) -> None:
    from labkit.db import connect

    rng = rng_for(g.seed, "statement_budget_test")
    path = g.dataset("tiny")
    async with connect(path) as db:
        quiet = [await add_user_without_posts(db) for _ in range(1 + rng.randrange(3))]
    order = list(VERSIONS)
    rng.shuffle(order)
    verdicts = {}
    for version in order:  # a fresh connection each, and a page of its own size
        async with connect(path) as db:
            ids = await page_ids(db, rng, quiet)
        verdicts[version.label] = await run_test_on(
            g, test_users_with_posts_budget, version, path, ids
        )
    # The card lists the versions in a fixed order (correct ones first), not the order run.
    listed = [verdicts[version.label] for version in VERSIONS]
    for name, correct in (
        ("correct loaders your test passed", True),
        ("regressions your test failed with AssertionError", False),
    ):
        group = [v for v in listed if v.version.correct is correct]
        right = sum(v.as_expected for v in group)
        target = f"{len(group)} of {len(group)}"
        g.measure(name, right, target=target, ok=right == len(group), hint=_hint(group))
    for verdict in listed:
        g.note(_line(verdict))
