"""The deep-page endpoint set: cursor fetching against a small threaded HTTP server, and names
(``tests/test_load_optimize.py`` measures a deep page on real lab servers)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import pytest

from labkit.errors import LoadError
from labkit.load.endpoints import (
    CORE_ENDPOINTS,
    endpoints_for,
    is_posts_page,
    page_cursor,
    short_name,
    stable_names,
)
from labkit.load.result import EndpointLoad, LoadResult

POSTS = 300


class Posts(BaseHTTPRequestHandler):
    """``/api/posts?limit&offset``: a ``next_cursor`` naming the offset after the page."""

    seen: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        Posts.seen.append(self.path)
        query = parse_qs(urlsplit(self.path).query)
        end = int(query["offset"][0]) + int(query["limit"][0])
        body = json.dumps({"next_cursor": f"c{end}" if end < POSTS else None}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def base_url() -> Iterator[str]:
    Posts.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Posts)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_page_cursor_asks_for_the_page_that_ends_at_depth(base_url: str) -> None:
    assert page_cursor(base_url, 200) == "c200"
    assert Posts.seen == ["/api/posts?limit=100&offset=100"]
    with pytest.raises(LoadError, match="too small for this depth"):
        page_cursor(base_url, 1_000)
    with pytest.raises(LoadError, match="depth must be"):
        page_cursor(base_url, 0)


def test_endpoints_for_moves_only_posts_pages(base_url: str) -> None:
    paths = endpoints_for(
        base_url, [*CORE_ENDPOINTS, "/api/posts", "/api/posts?cursor=x"], depth=150
    )
    assert paths == [
        "/api/users?limit=20",
        "/api/posts?limit=20&cursor=c150",
        "/api/feed?user_id=1",
        "/api/products/1",
        "/api/posts?cursor=c150",
        "/api/posts?cursor=x",  # already says where it starts
    ]
    assert len(Posts.seen) == 1  # one cursor fetch per server
    assert endpoints_for(base_url, CORE_ENDPOINTS, depth=None) == list(CORE_ENDPOINTS)
    assert endpoints_for(base_url, ["/api/feed?user_id=1"]) == ["/api/feed?user_id=1"]
    assert len(Posts.seen) == 1  # nothing to move: no request


def test_unreachable_server_is_a_load_error() -> None:
    with pytest.raises(LoadError, match="cannot fetch a page cursor"):
        page_cursor("http://127.0.0.1:9", 200, timeout=2)
    with pytest.raises(LoadError, match="target must be"):
        endpoints_for(42, CORE_ENDPOINTS)


def test_names_and_posts_pages() -> None:
    assert is_posts_page("/api/posts?limit=20") and is_posts_page("/api/posts")
    assert not is_posts_page("/api/posts?offset=5") and not is_posts_page("/api/posts/3")
    assert short_name("/api/posts?limit=20&cursor=eyJ9") == "/api/posts?limit=20 (deep page)"
    assert short_name("/api/posts?cursor=eyJ9&limit=5") == "/api/posts?limit=5 (deep page)"
    assert short_name("/api/feed?user_id=1") == "/api/feed?user_id=1"
    loads = {"/api/posts?limit=20&cursor=a": EndpointLoad(ok=3), "/api/users": EndpointLoad(ok=1)}
    result = LoadResult("http://h", "closed", 1.0, 0.0, loads, vus=1)
    assert list(stable_names(result).endpoints) == ["/api/posts?limit=20 (deep page)", "/api/users"]
