"""What the installed Starlette's ``GZipMiddleware`` does with a streamed response, measured.

A streaming endpoint yields chunks one by one; the probe counts, for each compressed body
message the middleware sends, how many chunks the endpoint had produced by then. A middleware
that buffers the whole stream sends its first bytes only after the last chunk was produced;
one that compresses chunk by chunk sends each as it comes (and pays a little ratio for
flushing the compressor every time).
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import starlette
from starlette.middleware.gzip import GZipMiddleware
from starlette.responses import StreamingResponse
from starlette.types import Message, Receive, Scope, Send

from labkit.lessons.n05_streaming.middleware_kit import asgi_get


@dataclass(frozen=True)
class GzipStreamProbe:
    starlette_version: str
    chunks_produced: int
    body_messages: int  # non-empty compressed body messages sent
    produced_at_first_message: int  # chunks the endpoint had produced when the first was sent
    streamed_bytes: int  # compressed bytes, chunk by chunk
    whole_body_gzip_bytes: int  # the same body gzipped at once (same level)
    raw_bytes: int

    @property
    def streams(self) -> bool:
        return self.body_messages > 1 and self.produced_at_first_message < self.chunks_produced


async def probe_gzip_streaming(chunks: list[bytes], compresslevel: int = 9) -> GzipStreamProbe:
    """Send ``chunks`` as a ``StreamingResponse`` through ``GZipMiddleware`` and watch."""
    produced = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal produced
        for chunk in chunks:
            produced += 1
            yield chunk

    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        await StreamingResponse(body(), media_type="application/x-ndjson")(scope, receive, send)

    app = GZipMiddleware(endpoint, minimum_size=500, compresslevel=compresslevel)
    produced_at: list[int] = []  # chunks produced when each compressed message left

    async def watched(scope: Scope, receive: Receive, send: Send) -> None:
        async def send_and_note(message: Message) -> None:
            if message["type"] == "http.response.body" and message.get("body"):
                produced_at.append(produced)
            await send(message)

        await app(scope, receive, send_and_note)

    _, _, parts = await asgi_get(watched, "/export", {"accept-encoding": "gzip"})
    streamed = b"".join(parts)
    raw = b"".join(chunks)
    assert gzip.decompress(streamed) == raw, "the compressed stream does not decode"
    whole = zlib.compressobj(compresslevel, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return GzipStreamProbe(
        starlette_version=starlette.__version__,
        chunks_produced=len(chunks),
        body_messages=len(parts),
        produced_at_first_message=produced_at[0] if produced_at else 0,
        streamed_bytes=len(streamed),
        whole_body_gzip_bytes=len(whole.compress(raw) + whole.flush()),
        raw_bytes=len(raw),
    )
