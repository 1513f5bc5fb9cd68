"""Exercise 01.enrich_users: join users with their orders in linear time.

The slow version searches the whole order list once per user: users × orders comparisons, a
quadratic cost that a 1,000-user page turns into seconds. The check counts the comparisons and
hashes made on user ids (counted integers from :mod:`labkit.counting`) at three input sizes and
grades the scaling exponent, so it never depends on the wall clock. What would hide work from
that count fails with its own message: converting the ids (``int(...)``: a scan over plain
keys is invisible), or fewer operations than orders (the work happened out of sight). A fourth
call, on other users of the same size as an earlier one, catches a memo keyed by size.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from labkit.counting import OpCounter, scaling_exponent
from labkit.grading import Grader, exercise, reference_answer
from labkit.lessons.n01_measure.rows import Row, load_rows

FIELDS = ("id", "name", "order_count", "spent_cents")
MAX_EXPONENT = 1.3


def enrich_users_slow(users: list[Row], orders: list[Row]) -> list[Row]:
    """Each user with their order count and spend (cancelled orders excluded): O(users × orders)."""
    enriched = []
    for user in users:
        mine = [o for o in orders if o["user_id"] == user["id"] and o["status"] != "cancelled"]
        enriched.append(
            {
                "id": user["id"],
                "name": user["name"],
                "order_count": len(mine),
                "spent_cents": sum(o["total_cents"] for o in mine),
            }
        )
    return enriched


@reference_answer
def enrich_users_reference(users: list[Row], orders: list[Row]) -> list[Row]:
    """The same rows in O(users + orders): one pass over orders into a dict keyed by user id."""
    totals: dict[int, list[int]] = {user["id"]: [0, 0] for user in users}
    for order in orders:
        if order["status"] == "cancelled":
            continue
        entry = totals.get(order["user_id"])
        if entry is not None:
            entry[0] += 1
            entry[1] += order["total_cents"]
    return [
        {
            "id": user["id"],
            "name": user["name"],
            "order_count": totals[user["id"]][0],
            "spent_cents": totals[user["id"]][1],
        }
        for user in users
    ]


def sample_sizes(
    users: list[Row], orders: list[Row], seed: int, fractions: Sequence[int] = (4, 2, 1)
) -> list[tuple[list[Row], list[Row]]]:
    """Nested inputs of 1/4, 1/2 and all users (chosen by seed), each with their orders."""
    rng = random.Random(f"labkit/01.enrich_users/{seed}")
    shuffled = list(users)
    rng.shuffle(shuffled)
    inputs = []
    for fraction in fractions:
        chosen = sorted(shuffled[: len(users) // fraction], key=lambda u: u["id"])
        ids = {u["id"] for u in chosen}
        inputs.append((chosen, [o for o in orders if o["user_id"] in ids]))
    return inputs


def counted_copy(
    users: list[Row], orders: list[Row], ops: OpCounter
) -> tuple[list[Row], list[Row]]:
    """Fresh copies whose user ids count every comparison and hash made on them."""
    return (
        [{**u, "id": ops.int(u["id"])} for u in users],
        [{**o, "user_id": ops.int(o["user_id"])} for o in orders],
    )


def normalise(rows: object) -> list[dict[str, Any]] | None:
    """The learner's rows as plain dicts with exactly FIELDS (extra keys dropped)."""
    if not isinstance(rows, Sequence) or isinstance(rows, (str, bytes)):
        return None
    result = []
    for row in rows:
        if not isinstance(row, Mapping):
            return None
        result.append({k: _plain(row.get(k)) for k in FIELDS})
    return result


def _plain(value: Any) -> Any:
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else value


@exercise(
    "01.enrich_users",
    title="Enrich users with their orders in linear time",
    answers=("enrich_users",),
    hint=(
        "Walk the orders once and group them in a dict keyed by user_id; then each user is "
        "one dict lookup instead of a scan of every order."
    ),
    points=2,
    timeout=20.0,
)
async def grade_enrich_users(g: Grader, enrich_users: Callable[..., Any]) -> None:
    path = g.dataset("tiny")
    users, orders = load_rows(path, "users"), load_rows(path, "orders")
    sizes: list[int] = []
    counts: list[int] = []
    parts = list(reversed(sample_sizes(users, orders, g.seed)))
    # other users, as many as the middle size: a memo keyed by the input's size answers wrong
    parts.append(sample_sizes(users, orders, g.seed + 1, fractions=(2,))[0])
    for part_users, part_orders in parts:
        expected = enrich_users_reference(part_users, part_orders)
        ops = OpCounter()
        counted_users, counted_orders = counted_copy(part_users, part_orders, ops)
        ops.reset()
        got = await g.acall(enrich_users, counted_users, counted_orders)
        seen = ops.counts()
        rows = normalise(got)
        g.expect(
            rows is not None,
            f"enrich_users should return a list of dicts, got {type(got).__name__}",
            hint=f"One dict per user, in the users' order, with keys {', '.join(FIELDS)}.",
        )
        g.expect_equal(
            rows,
            expected,
            what=f"rows for {len(part_users)} users and {len(part_orders)} orders",
            hint="One row per user (also users without orders), in the same order as `users`; "
            "cancelled orders count neither in order_count nor in spent_cents.",
        )
        g.expect(
            seen.conversions == 0,
            f"your enrich_users converted user ids {seen.conversions:,} times (int(), str(), "
            "float() or formatting): this check counts the operations made on the ids it gives "
            "you, and a converted id is invisible to it.",
            hint="Use the ids as they are: as dict keys, or compared directly.",
        )
        floor = sum(1 for order in part_orders if order["status"] != "cancelled")
        g.expect(
            seen.total >= floor,
            f"{seen.total:,} operations on user ids for {floor:,} orders to attribute: every "
            "order's user_id must be looked at least once, so the work happened where this "
            "check cannot count it (pandas or numpy copy the ids into plain numbers).",
            hint="This exercise is graded by counting the dict lookups and comparisons on the "
            "ids: write it with a dict over the rows you are given.",
        )
        if len(sizes) < 3:
            sizes.append(len(part_users) + len(part_orders))
            counts.append(seen.total)
    exponent = scaling_exponent(sizes, counts)
    g.measure(
        "operations on user ids (smallest → largest input)",
        " → ".join(f"{c:,}" for c in reversed(counts)),
        target=f"grows like n (inputs of {sizes[-1]} → {sizes[0]} rows)",
        ok=True,
    )
    g.measure(
        "scaling exponent of that count",
        round(exponent, 2),
        target=f"≤ {MAX_EXPONENT} (1 = linear, 2 = quadratic)",
        ok=exponent <= MAX_EXPONENT,
        hint="Your work grows with users × orders: a scan of `orders` inside the loop over "
        "users. Build a dict of orders per user_id first, then look each user up once.",
    )
