"""A tiny Starlette app with three counting middlewares: body parsing, sessions and auth.

Each middleware counts how often it runs, per path, so a check (or a notebook cell) can see
exactly which requests paid for it. They do real work: the body parser reads and decodes the
whole JSON body (and replays it to the endpoint), the session middleware decodes a signed-ish
cookie into a dict, and the auth middleware rejects requests without the bearer token.
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

TOKEN: Final = "s3cret-token"
HEALTH_PATHS: Final = frozenset({"/health", "/ready"})


@dataclass
class MiddlewareCounter:
    """``runs[(middleware, path)]``: how many requests each middleware handled, per path."""

    runs: Counter[tuple[str, str]] = field(default_factory=Counter)

    def add(self, middleware: str, path: str) -> None:
        self.runs[(middleware, path)] += 1

    def on(self, path: str) -> int:
        """Middleware runs paid by requests to ``path`` (all middlewares together)."""
        return sum(n for (_, p), n in self.runs.items() if p == path)

    def to_rows(self) -> list[dict[str, Any]]:
        return [{"middleware": m, "path": p, "runs": n} for (m, p), n in sorted(self.runs.items())]


class ParseJSONBody:
    """Reads the whole request body and decodes JSON into ``scope["state"]["json"]``."""

    def __init__(self, app: ASGIApp, *, counter: MiddlewareCounter) -> None:
        self.app, self.counter = app, counter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.counter.add("body", scope["path"])
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        scope.setdefault("state", {})["json"] = json.loads(body) if body else None
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class Sessions:
    """Decodes the ``session`` cookie (base64 JSON) into ``scope["session"]``."""

    def __init__(self, app: ASGIApp, *, counter: MiddlewareCounter) -> None:
        self.app, self.counter = app, counter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.counter.add("session", scope["path"])
        session: dict[str, Any] = {}
        for name, value in scope.get("headers", []):
            if name == b"cookie":
                for part in value.decode("latin-1").split(";"):
                    key, _, raw = part.strip().partition("=")
                    if key == "session":
                        try:
                            session = json.loads(base64.urlsafe_b64decode(raw.encode()))
                        except ValueError:
                            session = {}
        scope["session"] = session
        await self.app(scope, receive, send)


class BearerAuth:
    """Rejects a request without ``Authorization: Bearer <token>`` (401)."""

    def __init__(self, app: ASGIApp, *, counter: MiddlewareCounter, token: str = TOKEN) -> None:
        self.app, self.counter = app, counter
        self.expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.counter.add("auth", scope["path"])
        if dict(scope.get("headers", [])).get(b"authorization") != self.expected:
            await JSONResponse({"detail": "not authenticated"}, status_code=401)(
                scope, receive, send
            )
            return
        scope["user"] = "learner"
        await self.app(scope, receive, send)


MIDDLEWARES: Final = (ParseJSONBody, Sessions, BearerAuth)


async def _health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def _health_details(request: Request) -> Response:
    return JSONResponse({"status": "ok", "user": request.scope.get("user")})


async def _me(request: Request) -> Response:
    return JSONResponse(
        {"user": request.scope.get("user"), "session": request.scope.get("session")}
    )


async def _notes(request: Request) -> Response:
    note = request.scope.get("state", {}).get("json")
    if note is None:  # the body parser did not run: read it here
        note = await request.json()
    return JSONResponse({"saved": note}, status_code=201)


def build_app(counter: MiddlewareCounter, wrap: Callable[[Any], Any] | None = None) -> Starlette:
    """The tiny app, every middleware passed through ``wrap`` (e.g. ``skip_for(cls, paths)``)."""
    wrap = wrap or (lambda cls: cls)
    return Starlette(
        routes=[
            Route("/health", _health),
            Route("/ready", _health),
            Route("/health/details", _health_details),
            Route("/api/me", _me),
            Route("/api/notes", _notes, methods=["POST"]),
        ],
        middleware=[Middleware(wrap(cls), counter=counter) for cls in MIDDLEWARES],
    )


@dataclass(frozen=True)
class ScriptedRequest:
    method: str
    path: str
    token: bool
    body: dict[str, Any] | None = None

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}{'' if self.token else ' (no token)'}"


def request_script(seed: int, n: int = 60) -> list[ScriptedRequest]:
    """A seeded mix: mostly probes (as a load balancer sends them), some real API calls."""
    rng = random.Random(seed)
    script: list[ScriptedRequest] = []
    for i in range(n):
        kind = rng.choices(
            ("health", "ready", "details", "me", "anonymous", "note"), weights=(8, 4, 1, 3, 1, 2)
        )[0]
        if kind == "health":
            script.append(ScriptedRequest("GET", "/health", token=False))
        elif kind == "ready":
            script.append(ScriptedRequest("GET", "/ready", token=False))
        elif kind == "details":
            script.append(ScriptedRequest("GET", "/health/details", token=rng.random() < 0.5))
        elif kind == "me":
            script.append(ScriptedRequest("GET", "/api/me", token=True))
        elif kind == "anonymous":
            script.append(ScriptedRequest("GET", "/api/me", token=False))
        else:
            body = {"id": i, "text": f"note {rng.randrange(10_000)}"}
            script.append(ScriptedRequest("POST", "/api/notes", token=True, body=body))
    # every kind at least once, whatever the seed
    script += [
        ScriptedRequest("GET", "/health/details", token=False),
        ScriptedRequest("GET", "/api/me", token=False),
        ScriptedRequest("POST", "/api/notes", token=True, body={"id": n, "text": "last"}),
    ]
    return script


def session_cookie(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode()


async def replay_script(app: ASGIApp, script: Sequence[ScriptedRequest]) -> list[int]:
    """Send every scripted request through ``httpx.ASGITransport``; return the status codes."""
    import httpx

    statuses = []
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://lab") as client:
        for item in script:
            headers = {"cookie": f"session={session_cookie({'theme': 'dark'})}"}
            if item.token:
                headers["authorization"] = f"Bearer {TOKEN}"
            response = await client.request(item.method, item.path, headers=headers, json=item.body)
            statuses.append(response.status_code)
    return statuses


def expected_runs(script: Sequence[ScriptedRequest], skipped: Collection[str]) -> Counter[str]:
    """Middleware runs per path when every middleware skips exactly ``skipped`` paths.

    Auth rejects before the endpoint but after body and session ran (it is innermost), so a
    rejected request still counts once per middleware.
    """
    runs: Counter[str] = Counter()
    for item in script:
        if item.path not in skipped:
            runs[item.path] += len(MIDDLEWARES)
    return runs


async def asgi_get(
    app: ASGIApp, path: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], list[bytes]]:
    """``GET path`` straight through the ASGI interface: status, headers and every body chunk
    as the app sent it (``httpx.ASGITransport`` joins the chunks, which hides streaming)."""
    sent: list[Message] = []
    request_headers = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    scope: Scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "headers": [(b"host", b"lab"), *request_headers],
        "client": ("127.0.0.1", 50000), "server": ("lab", 80),
    }  # fmt: skip

    requested = False

    async def receive() -> Message:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Event().wait()  # the client never disconnects; the app cancels this wait
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    response_headers = {k.decode().lower(): v.decode() for k, v in start.get("headers", [])}
    chunks = [m.get("body", b"") for m in sent if m["type"] == "http.response.body"]
    return start["status"], response_headers, [c for c in chunks if c]
