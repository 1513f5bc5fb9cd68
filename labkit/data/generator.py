"""Seeded rows for every table, generated column by column.

Determinism on every machine and Python version rests on three choices:
- each table draws from its own ``random.Random`` seeded with a string (SHA-512 seeding, stable
  since Python 3.2), and only ``random()`` is called: no ``randrange``/``choices``/``shuffle``,
  whose internals are free to change between releases;
- weights are integers and draws use ``bisect`` on integer cumulative sums, so no ``pow``/``log``
  from the platform's libm can shift a result by one ulp;
- every collection is a list or tuple, never a set or dict iterated for order.

The skew is deliberate, it is what the lessons need: a few prolific authors and buyers
(Zipf-like weights over a shuffled id order), a long tail of products with a popular head (top-N
cache warming), most posts ``published``, comment counts that follow a post's views.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

from labkit.data import vocabulary as vocab
from labkit.data.schema import EPOCH, ORDER_STATUSES, POST_STATUSES, SIZES, TIERS

Row = tuple[Any, ...]

# Bump when the generated rows change, so an old file is rebuilt rather than trusted.
GENERATOR_VERSION = 1

DAY = 86_400
SPAN = 730 * DAY  # two years after EPOCH
SIGNUP_SPAN = 180 * DAY  # users join in the first six months; activity follows
ACTIVITY_START = EPOCH + SIGNUP_SPAN
ACTIVITY_SPAN = SPAN - SIGNUP_SPAN


@dataclass(frozen=True)
class TableRows:
    """The rows of one table, in primary-key order."""

    name: str
    rows: list[Row]


def _stream(seed: int, name: str) -> random.Random:
    return random.Random(f"labkit/{seed}/{name}")


def _permutation(rng: random.Random, n: int) -> list[int]:
    """Fisher-Yates on 0..n-1 using only ``random()`` (``shuffle`` internals may change)."""
    items = list(range(n))
    r = rng.random
    for i in range(n - 1, 0, -1):
        j = int(r() * (i + 1))
        items[i], items[j] = items[j], items[i]
    return items


class WeightedPick:
    """Draw values with integer weights: ``pick()`` costs one ``random()`` and one bisect."""

    def __init__(self, rng: random.Random, values: Sequence[Any], weights: Sequence[int]) -> None:
        if len(values) != len(weights) or not values:
            raise ValueError("values and weights must be non-empty and the same length")
        cumulative = list(accumulate(weights))
        if cumulative[-1] <= 0 or cumulative[-1] >= 1 << 53:
            raise ValueError("the weights must sum to between 1 and 2**53")
        # Sums below 2**53 are exact as floats, and float-to-float comparisons make the
        # bisect several times faster than comparing floats with ints.
        self.cumulative = [float(c) for c in cumulative]
        self.total = self.cumulative[-1]
        # r() * total can round up to total itself; one extra slot keeps that draw in range.
        self.values = [*values, values[-1]]
        self.random = rng.random

    def pick(self) -> Any:
        return self.values[bisect_right(self.cumulative, self.random() * self.total)]

    def many(self, n: int) -> list[Any]:
        values, cumulative, total, r = self.values, self.cumulative, self.total, self.random
        return [values[bisect_right(cumulative, r() * total)] for _ in range(n)]


def zipf_weights(n: int, offset: int, scale: int = 1 << 30) -> list[int]:
    """Integer Zipf-like weights ``scale // (rank + offset)``; ``offset`` softens the head."""
    return [scale // (rank + offset) for rank in range(n)]


def _zipf_over_ids(rng: random.Random, n: int, offset: int) -> WeightedPick:
    """Ids 1..n with Zipf weights assigned in a shuffled order (id 1 is not the most active)."""
    order = _permutation(rng, n)
    weights = zipf_weights(n, offset)
    by_id = [0] * n
    for rank, index in enumerate(order):
        by_id[index] = weights[rank]
    return WeightedPick(rng, list(range(1, n + 1)), by_id)


def _times(rng: random.Random, n: int, start: int, span: int) -> list[int]:
    """Non-decreasing timestamps across ``span`` (ids follow time; equal seconds happen)."""
    r = rng.random
    gap2 = 2.0 * span / max(n, 1)
    out: list[int] = []
    t = float(start)
    for _ in range(n):
        t += r() * gap2
        out.append(int(t))
    return out


def _pool(rng: random.Random, size: int, make: Callable[[Callable[[], float]], str]) -> list[str]:
    r = rng.random
    return [make(r) for _ in range(size)]


def _pick(r: Callable[[], float], options: Sequence[Any]) -> Any:
    return options[int(r() * len(options))]


def _paragraph(r: Callable[[], float]) -> str:
    topic = _pick(r, vocab.TOPICS)
    sentences = [f"This post is about {topic}."]
    sentences += [_pick(r, vocab.SENTENCES) for _ in range(1 + int(r() * 5))]
    return " ".join(sentences)


def _title(r: Callable[[], float]) -> str:
    template = _pick(r, vocab.TITLE_TEMPLATES)
    topic, other = _pick(r, vocab.TOPICS), _pick(r, vocab.TOPICS)
    title: str = template.format(t=topic, u=other)
    return title[0].upper() + title[1:]


def _comment(r: Callable[[], float]) -> str:
    opener = _pick(r, vocab.COMMENT_OPENERS)
    if r() < 0.5:
        return str(opener)
    return f"{opener} {_pick(r, vocab.SENTENCES)}"


def _bio(r: Callable[[], float]) -> str:
    if r() < 0.3:
        return ""
    return f"{_pick(r, vocab.BIO_PARTS)}, {_pick(r, vocab.BIO_INTERESTS)}."


def categories(seed: int, n: int) -> list[Row]:
    rng = _stream(seed, "categories")
    r = rng.random
    roots = max(1, n // 4)
    rows: list[Row] = []
    for i in range(n):
        word = vocab.CATEGORY_WORDS[i % len(vocab.CATEGORY_WORDS)]
        qualifier = vocab.CATEGORY_QUALIFIERS[(i // len(vocab.CATEGORY_WORDS)) % 10]
        name = f"{qualifier} {word}".strip()
        if i >= len(vocab.CATEGORY_WORDS) * 10:
            name = f"{name} {i}"
        parent = None if i < roots else 1 + int(r() * roots)
        rows.append((i + 1, name, parent))
    return rows


def users(seed: int, n: int) -> list[Row]:
    rng = _stream(seed, "users")
    r = rng.random
    country = WeightedPick(rng, [c for c, _ in vocab.COUNTRIES], [w for _, w in vocab.COUNTRIES])
    tier = WeightedPick(rng, list(TIERS), [70, 20, 10])
    created = _times(rng, n, EPOCH, SIGNUP_SPAN)
    rows: list[Row] = []
    for i in range(n):
        first, last = _pick(r, vocab.FIRST_NAMES), _pick(r, vocab.LAST_NAMES)
        uid = i + 1
        email = f"{first.lower()}.{last.lower()}{uid}@example.com"
        active = 0 if r() < 0.08 else 1
        rows.append(
            (
                uid,
                f"{first} {last}",
                email,
                tier.pick(),
                active,
                country.pick(),
                _bio(r),
                created[i],
            )
        )
    return rows


def products(
    seed: int, n: int, n_categories: int, prices: list[int], sales: list[int]
) -> list[Row]:
    """Products; ``prices[i]``/``sales[i]`` belong to product i+1 (sales come from order_items)."""
    rng = _stream(seed, "products")
    r = rng.random
    popularity = _permutation(rng, n)  # popularity[i] = rank of product i+1 (0 = most viewed)
    rows: list[Row] = []
    descriptions = _pool(rng, 512, _paragraph)
    for i in range(n):
        pid = i + 1
        adjective, noun = _pick(r, vocab.PRODUCT_ADJECTIVES), _pick(r, vocab.PRODUCT_NOUNS)
        name = f"{adjective} {noun} {100 + pid % 900}"
        category = 1 + int(r() * n_categories)
        price = prices[i]
        stock = 0 if r() < 0.1 else int(r() * 400)
        views = 2_000_000 // (popularity[i] + 5) + int(r() * 300) + 20 * sales[i]
        updated = EPOCH + int(r() * SPAN)
        description = descriptions[int(r() * len(descriptions))]
        rows.append((pid, category, name, description, price, stock, views, sales[i], updated))
    return rows


def _price(r: Callable[[], float]) -> int:
    # the product of two uniforms leans to cheap items with a tail of expensive ones
    cents = 199 + int(r() * r() * 49_800)
    return (cents // 100) * 100 + 99


def product_prices(seed: int, n: int) -> list[int]:
    """Each product's price in cents (its own stream: order_items need them before products)."""
    r = _stream(seed, "prices").random
    return [_price(r) for _ in range(n)]


def posts(seed: int, n: int, n_users: int) -> list[Row]:
    rng = _stream(seed, "posts")
    r = rng.random
    authors = _zipf_over_ids(rng, n_users, offset=5).many(n)
    status = WeightedPick(rng, list(POST_STATUSES), [8, 85, 7]).many(n)
    titles = _pool(rng, 2048, _title)
    bodies = _pool(rng, 2048, _paragraph)
    created = _times(rng, n, ACTIVITY_START, ACTIVITY_SPAN)
    # Pareto-like (tail exponent 1): half the posts get under 400 views, a handful go viral
    # with up to 400,000. Only IEEE division, so the same on every platform.
    views = [
        0 if st == "draft" else int(200.0 / (1.0005 - u))
        for st, u in zip(status, [r() for _ in range(n)], strict=True)
    ]
    title_of = [titles[int(r() * 2048)] for _ in range(n)]
    body_of = [bodies[int(r() * 2048)] for _ in range(n)]
    return list(
        zip(range(1, n + 1), authors, title_of, body_of, status, views, created, strict=True)
    )


def comments(seed: int, n: int, n_users: int, post_rows: list[Row]) -> list[Row]:
    rng = _stream(seed, "comments")
    r = rng.random
    # comments follow views; drafts get none
    weights = [0 if p[4] == "draft" else p[5] // 20 for p in post_rows]
    post_of = WeightedPick(rng, list(range(1, len(post_rows) + 1)), weights).many(n)
    commenters = _zipf_over_ids(rng, n_users, offset=10).many(n)
    bodies = _pool(rng, 1024, _comment)
    body_of = [bodies[int(r() * 1024)] for _ in range(n)]
    post_created = [p[6] for p in post_rows]
    created = [post_created[pid - 1] + int(r() * r() * 30 * DAY) for pid in post_of]
    return list(zip(range(1, n + 1), post_of, commenters, body_of, created, strict=True))


_QUANTITIES = (1,) * 14 + (2,) * 4 + (3, 5)


def orders_and_items(
    seed: int, n_orders: int, n_items: int, n_users: int, prices: list[int]
) -> tuple[list[Row], list[Row]]:
    rng = _stream(seed, "orders")
    r = rng.random
    buyers = _zipf_over_ids(rng, n_users, offset=8).many(n_orders)
    status = WeightedPick(rng, list(ORDER_STATUSES), [5, 15, 72, 8]).many(n_orders)
    created = _times(rng, n_orders, ACTIVITY_START, ACTIVITY_SPAN)
    # every order has at least one item; the rest land on random orders
    order_of = list(range(1, n_orders + 1))
    order_of += [1 + int(r() * n_orders) for _ in range(n_items - n_orders)]
    order_of.sort()
    product = _zipf_over_ids(rng, len(prices), offset=3).many(n_items)
    quantity = [_QUANTITIES[int(r() * len(_QUANTITIES))] for _ in range(n_items)]
    # one line in ten is discounted
    unit = [prices[pid - 1] * 9 // 10 if r() < 0.1 else prices[pid - 1] for pid in product]
    totals = [0] * n_orders
    for oid, q, price in zip(order_of, quantity, unit, strict=True):
        totals[oid - 1] += q * price
    items = list(zip(range(1, n_items + 1), order_of, product, quantity, unit, strict=True))
    orders = [(i + 1, buyers[i], status[i], totals[i], created[i]) for i in range(n_orders)]
    return orders, items


def generate(size: str, seed: int) -> Iterator[TableRows]:
    """Yield each table's rows in schema order (referenced tables first)."""
    n = SIZES[size]
    if n["order_items"] < n["orders"]:
        raise ValueError("every order needs at least one item")
    yield TableRows("categories", categories(seed, n["categories"]))
    yield TableRows("users", users(seed, n["users"]))
    prices = product_prices(seed, n["products"])
    orders, items = orders_and_items(seed, n["orders"], n["order_items"], n["users"], prices)
    sales = [0] * n["products"]
    for item in items:
        sales[item[2] - 1] += item[3]
    yield TableRows("products", products(seed, n["products"], n["categories"], prices, sales))
    post_rows = posts(seed, n["posts"], n["users"])
    yield TableRows("posts", post_rows)
    yield TableRows("comments", comments(seed, n["comments"], n["users"], post_rows))
    del post_rows
    yield TableRows("orders", orders)
    yield TableRows("order_items", items)
