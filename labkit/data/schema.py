"""The course database: tables, sizes and the fixed epoch.

The baseline schema has primary keys only; the lessons add indexes themselves, so a learner
sees a table SCAN before they see a SEARCH. Timestamps are integer Unix seconds counted from a
fixed epoch, never the wall clock, so a build is the same on every machine.
"""

from __future__ import annotations

from typing import Final

DEFAULT_SEED: Final = 42

# 2024-01-01T00:00:00Z: every created_at/updated_at lies within two years after it.
EPOCH: Final = 1_704_067_200

TIERS: Final = ("free", "basic", "pro")
POST_STATUSES: Final = ("draft", "published", "archived")
ORDER_STATUSES: Final = ("pending", "paid", "shipped", "cancelled")

# Creation order matters: referenced tables first.
TABLES: Final = (
    "categories",
    "users",
    "products",
    "posts",
    "comments",
    "orders",
    "order_items",
)

SCHEMA: Final = """
CREATE TABLE categories (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL,
    parent_id   INTEGER REFERENCES categories(id)
);
CREATE TABLE users (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL,
    email       TEXT    NOT NULL,
    tier        TEXT    NOT NULL CHECK (tier IN ('free', 'basic', 'pro')),
    is_active   INTEGER NOT NULL CHECK (is_active IN (0, 1)),
    country     TEXT    NOT NULL,
    bio         TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE TABLE products (
    id           INTEGER PRIMARY KEY,
    category_id  INTEGER NOT NULL REFERENCES categories(id),
    name         TEXT    NOT NULL,
    description  TEXT    NOT NULL,
    price_cents  INTEGER NOT NULL,
    stock        INTEGER NOT NULL,
    view_count   INTEGER NOT NULL,
    sales_count  INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE TABLE posts (
    id          INTEGER PRIMARY KEY,
    author_id   INTEGER NOT NULL REFERENCES users(id),
    title       TEXT    NOT NULL,
    body        TEXT    NOT NULL,
    status      TEXT    NOT NULL CHECK (status IN ('draft', 'published', 'archived')),
    view_count  INTEGER NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE TABLE comments (
    id          INTEGER PRIMARY KEY,
    post_id     INTEGER NOT NULL REFERENCES posts(id),
    user_id     INTEGER NOT NULL REFERENCES users(id),
    body        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE TABLE orders (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users(id),
    status       TEXT    NOT NULL CHECK (status IN ('pending', 'paid', 'shipped', 'cancelled')),
    total_cents  INTEGER NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE TABLE order_items (
    id                INTEGER PRIMARY KEY,
    order_id          INTEGER NOT NULL REFERENCES orders(id),
    product_id        INTEGER NOT NULL REFERENCES products(id),
    quantity          INTEGER NOT NULL,
    unit_price_cents  INTEGER NOT NULL
);
"""

# Rows per table for each size. `tiny` is for checks and tests (instant), `small` is the
# notebooks' default (about a second to build), `large` has over a million rows for the
# streaming and index lessons.
SIZES: Final[dict[str, dict[str, int]]] = {
    "tiny": {
        "categories": 8,
        "users": 60,
        "products": 120,
        "posts": 600,
        "comments": 1_200,
        "orders": 300,
        "order_items": 900,
    },
    "small": {
        "categories": 30,
        "users": 1_000,
        "products": 2_000,
        "posts": 10_000,
        "comments": 25_000,
        "orders": 6_000,
        "order_items": 18_000,
    },
    "large": {
        "categories": 200,
        "users": 25_000,
        "products": 25_000,
        "posts": 300_000,
        "comments": 500_000,
        "orders": 100_000,
        "order_items": 300_000,
    },
}
