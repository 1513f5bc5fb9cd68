"""05.compress_response — compress a response: threshold, opt-out, brotli first.

The check sends JSON bodies of three sizes (and cuts around the threshold) with a range of
``Accept-Encoding`` headers, decodes every payload with the codec its header names, and
counts the responses that decode to the body with the encoding the rules pick.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from labkit.db import connect
from labkit.grading import Grader, exercise, reference_answer

try:  # brotli is a dependency of labkit, but a service must still work without it
    import brotli
except ImportError:  # pragma: no cover - exercised only where brotli is missing
    brotli = None


def accepted_encodings(accept_encoding: str | None) -> set[str]:
    """Encodings the client accepts (``q=0`` means "not this one")."""
    accepted = set()
    for part in (accept_encoding or "").split(","):
        name, _, params = part.partition(";")
        name = name.strip().lower()
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if name and quality > 0:
            accepted.add(name)
    return accepted


@reference_answer
def compress_response(
    body: bytes, accept_encoding: str | None, min_size: int = 1024
) -> tuple[bytes, dict[str, str]]:
    """``(payload, headers)``: brotli or gzip when the client accepts it and the body is big
    enough to be worth it; the body unchanged (and no Content-Encoding) otherwise."""
    if len(body) < min_size:
        return body, {}
    accepted = accepted_encodings(accept_encoding)
    if "br" in accepted and brotli is not None:
        return brotli.compress(body, quality=5), {
            "Content-Encoding": "br",
            "Vary": "Accept-Encoding",
        }
    if "gzip" in accepted:
        payload = gzip.compress(body, compresslevel=6, mtime=0)
        return payload, {"Content-Encoding": "gzip", "Vary": "Accept-Encoding"}
    return body, {"Vary": "Accept-Encoding"}


ACCEPT_CASES: Final = (
    None,
    "",
    "identity",
    "gzip",
    "gzip, deflate, br",
    "br",
    "deflate",
    "br;q=0, gzip",
    "gzip;q=0.5, br;q=0",
    "GZIP",  # names are case-insensitive
    "Br;Q=1, gzip",
    "gzip;q=0.0, br;q=0.000",  # zero however it is written
    "deflate, gzip;q=1.0",
)


@dataclass(frozen=True)
class CompressionCase:
    body: bytes
    accept: str | None
    min_size: int

    def describe(self) -> str:
        shown = "absent" if self.accept is None else repr(self.accept)
        return f"{len(self.body):,}-byte body, min_size={self.min_size:,}, Accept-Encoding {shown}"


async def json_bodies(path: Any) -> list[bytes]:
    """JSON documents of the seeded posts, from a few hundred bytes to about 40 KB."""
    async with connect(path) as db:
        found = await db.execute_fetchall(
            "SELECT id, author_id, title, status, view_count, created_at FROM posts ORDER BY id"
        )
        posts = [dict(r) for r in found]
    documents = [json.dumps(posts[:k], separators=(",", ":")).encode() for k in (2, 40, 400)]
    return documents


def compression_cases(bodies: list[bytes]) -> list[CompressionCase]:
    small, medium, large = bodies
    cases = [CompressionCase(large, accept, 1024) for accept in ACCEPT_CASES]
    cases += [CompressionCase(medium, "gzip, br", 1024), CompressionCase(small, "gzip, br", 1024)]
    # around the threshold: one byte under stays as it is, exactly min_size is compressed
    cases += [
        CompressionCase(large[:1023], "gzip", 1024),
        CompressionCase(large[:1024], "gzip", 1024),
        CompressionCase(medium[:1500], "br", 2048),
    ]
    return cases


def content_encoding(headers: Mapping[str, Any]) -> str:
    for name, value in headers.items():
        if str(name).lower() == "content-encoding":
            return str(value).strip().lower()
    return "identity"


def decode_payload(payload: bytes, encoding: str) -> bytes:
    if encoding == "gzip":
        return gzip.decompress(payload)
    if encoding == "br":
        if brotli is None:  # pragma: no cover
            raise ValueError("brotli is not installed here")
        return bytes(brotli.decompress(payload))
    if encoding == "identity":
        return payload
    raise ValueError(f"unknown Content-Encoding {encoding!r}")


@exercise(
    "05.compress_response",
    title="Compress responses: threshold, opt-out, brotli first",
    answers=("compress_response",),
    hint="Below min_size return the body as it is. Parse Accept-Encoding (names, ';q=0' means "
    "no); prefer br, then gzip; set Content-Encoding to what you used; otherwise no header.",
    points=2,
    timeout=15.0,
)
def grade_compress_response(g: Grader, answer: Any) -> None:
    cases = compression_cases(g.run(json_bodies(g.dataset("tiny"))))
    failures: list[str] = []
    saved = []
    for case in cases:
        result = g.call(answer, case.body, case.accept, case.min_size)
        g.expect(
            isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], Mapping),
            f"compress_response should return (payload, headers), got {type(result).__name__}",
            hint="Return a pair: the bytes to send and a dict of headers to add.",
        )
        payload, headers = result
        got = content_encoding(headers)
        _, ref_headers = compress_response(case.body, case.accept, case.min_size)
        expected = content_encoding(ref_headers)
        try:
            decoded = decode_payload(bytes(payload), got)
        except Exception as exc:
            failures.append(f"{case.describe()}: Content-Encoding {got} does not decode ({exc})")
            continue
        if decoded != case.body:
            failures.append(f"{case.describe()}: the payload does not decode to the body")
        elif got != expected:
            failures.append(f"{case.describe()}: expected {expected}, got {got}")
        elif got != "identity":
            saved.append(1 - len(payload) / len(case.body))
    right = len(cases) - len(failures)
    g.measure(
        "responses right (decode to the body, right encoding)",
        right,
        target=f"{len(cases)} of {len(cases)}",
        ok=not failures,
        hint=f"First wrong: {failures[0]}." if failures else None,
    )
    if saved:
        g.note(f"compressed responses were {100 * max(saved):.0f}% smaller at best")
