"""``OPTIONS`` and ``405`` that list every method a path allows.

FastAPI registers one route per method, and Starlette's 405 names only the methods of the
first route whose path matched (``PUT /api/users/1`` would say ``Allow: GET`` while
``/api/products/1`` allows GET and PUT too, and ``OPTIONS`` was a 405). The methods come from
the app's own OpenAPI document, so ``Allow`` says exactly what the documentation says.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Final

from starlette.types import ASGIApp, Receive, Scope, Send

from labkit.app.responses import dumps

HTTP_METHODS: Final = frozenset(
    {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
)
PathMethods = list[tuple[re.Pattern[str], frozenset[str]]]


def path_methods(openapi: dict[str, Any]) -> PathMethods:
    """(regex of the path template, its methods) for every path in an OpenAPI document."""
    table: PathMethods = []
    for template, operations in openapi.get("paths", {}).items():
        pattern = "".join(
            "[^/]+" if part.startswith("{") else re.escape(part)
            for part in re.split(r"(\{[^}]+\})", template)
            if part
        )
        methods = frozenset(m.upper() for m in operations if m.lower() in HTTP_METHODS)
        table.append((re.compile(pattern), methods))
    return table


def allowed_methods(table: PathMethods, path: str) -> set[str]:
    """Methods of every documented path matching ``path`` (empty: no such path)."""
    methods: set[str] = set()
    for pattern, allowed in table:
        if pattern.fullmatch(path):
            methods |= allowed
    return methods


class AllowedMethods:
    """Answer ``OPTIONS`` (204) and unsupported methods (405), both with a complete ``Allow``."""

    def __init__(self, app: ASGIApp, *, openapi: Callable[[], dict[str, Any]]) -> None:
        self.app = app
        self.openapi = openapi  # FastAPI builds the document once and caches it
        self._table: PathMethods | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self._table is None:
            self._table = path_methods(self.openapi())
        methods = allowed_methods(self._table, scope["path"])
        method = scope["method"]
        if not methods or (method in methods and method != "OPTIONS"):
            await self.app(scope, receive, send)  # unknown path (404) or a route's own method
            return
        allow = ", ".join(sorted(methods | {"OPTIONS"}))
        if method == "OPTIONS":
            status, body = 204, b""
        else:
            status, body = 405, dumps({"detail": "Method Not Allowed"}, fast=True)
        headers = [(b"allow", allow.encode()), (b"content-length", str(len(body)).encode())]
        if body:
            headers.append((b"content-type", b"application/json"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
