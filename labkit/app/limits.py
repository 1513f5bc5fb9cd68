"""Request-body limit: a body larger than the limit is answered 413 before it is read.

A declared ``Content-Length`` over the limit is refused before the application runs; a body
without one (chunked) is counted as the application receives it and refused as soon as the
count passes the limit, so a worker never holds more than the limit of any one body.
"""

from __future__ import annotations

from typing import Final

from fastapi import HTTPException
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from labkit.app.responses import dumps

DEFAULT_MAX_BODY_BYTES: Final = 1 << 20  # 1 MiB: the largest valid PUT is a few hundred bytes


class BodyTooLarge(HTTPException):
    """Raised from ``receive``: an HTTPException, so FastAPI's body parsing re-raises it as is
    (it turns other errors into 400) and its exception middleware answers 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail=too_large(limit))


def too_large(limit: int) -> str:
    return f"request body larger than the limit of {limit} bytes"


def declared_length(scope: Scope) -> int | None:
    value = Headers(scope=scope).get("content-length")
    if value is None or not value.strip().isdigit():
        return None  # absent or malformed: the HTTP server rejects malformed framing itself
    return int(value)


class BodyLimit:
    """At most ``max_bytes`` of request body per request; more is a 413 (JSON ``detail``)."""

    def __init__(self, app: ASGIApp, *, max_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        if max_bytes < 0:
            raise ValueError(f"max_bytes must be >= 0, got {max_bytes}")
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = declared_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(send)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def watching_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except BodyTooLarge:
            if started:
                raise
            await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        body = dumps({"detail": too_large(self.max_bytes)}, fast=True)
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),  # the unread rest of the body is not wanted
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
