"""The endpoint set a load test sends to one lab server, with its deep page of posts.

A first page of posts costs the same with or without keyset pagination: the difference only
shows when a client has paged far in. So the posts page is requested with the cursor this
server hands a client that has already read ``depth`` posts — an offset cursor on a baseline
server (SQLite walks past ``depth`` rows again), the last row seen with ``keyset``. The cursor
is fetched from each server, because the two kinds differ.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import parse_qsl, urlsplit

from labkit.errors import LoadError

if TYPE_CHECKING:  # pragma: no cover
    from labkit.load.result import LoadResult

DEEP_PAGE: Final = 5_000  # how far into the posts a client has paged
POSTS_PATH: Final = "/api/posts"
# What a client does most: a list of users, a deep page of posts, its feed, a product.
CORE_ENDPOINTS: Final = (
    "/api/users?limit=20",
    "/api/posts?limit=20",
    "/api/feed?user_id=1",
    "/api/products/1",
)
DEEP_SUFFIX: Final = " (deep page)"


def page_cursor(base_url: str, depth: int = DEEP_PAGE, *, timeout: float = 10.0) -> str:
    """The ``next_cursor`` this server hands a client that has paged ``depth`` posts in."""
    if depth < 1:
        raise LoadError(f"depth must be >= 1 post, got {depth}")
    url = f"{base_url.rstrip('/')}{POSTS_PATH}?limit=100&offset={max(0, depth - 100)}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            cursor = json.loads(response.read()).get("next_cursor")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise LoadError(f"cannot fetch a page cursor from {url}: {exc}") from None
    if not cursor:
        raise LoadError(
            f"no page after {depth} posts: the dataset is too small for this depth "
            "(pass a smaller depth)"
        )
    return str(cursor)


def is_posts_page(endpoint: str) -> bool:
    """A page of the posts list that does not yet say where it starts."""
    parts = urlsplit(endpoint)
    query = dict(parse_qsl(parts.query))
    return parts.path == POSTS_PATH and "cursor" not in query and "offset" not in query


def endpoints_for(
    target: Any, endpoints: Sequence[str] = CORE_ENDPOINTS, *, depth: int | None = DEEP_PAGE
) -> list[str]:
    """``endpoints`` with each posts page moved ``depth`` posts in, for this server.

    ``target`` is a ``LabServer`` or its base URL. ``depth=None`` leaves the paths as given.
    The cursor is fetched once and shared by every posts page in the list.
    """
    paths = list(endpoints)
    if depth is None or not any(is_posts_page(p) for p in paths):
        return paths
    base = getattr(target, "url", target)
    if not isinstance(base, str):
        raise LoadError(f"target must be a URL or a LabServer, got {type(target).__name__}")
    cursor = page_cursor(base, depth)
    return [
        f"{p}{'&' if '?' in p else '?'}cursor={cursor}" if is_posts_page(p) else p for p in paths
    ]


def short_name(endpoint: str) -> str:
    """``/api/posts?limit=20&cursor=eyJ…`` → ``/api/posts?limit=20 (deep page)``.

    The cursor differs from server to server (an offset, or the last row seen), so runs are
    compared under this stable name.
    """
    for separator in ("&cursor=", "?cursor="):
        if separator in endpoint:
            head, _, tail = endpoint.partition(separator)
            rest = tail.partition("&")[2]
            joined = head + (("&" if "?" in head else "?") + rest if rest else "")
            return joined + DEEP_SUFFIX
    return endpoint


def stable_names(result: LoadResult) -> LoadResult:
    """A copy of ``result`` with every endpoint under its ``short_name``."""
    return result.renamed(short_name)
