"""Checks for payloads: compression, a schema encoder, and middleware a health check skips."""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Final

from labkit.db import connect
from labkit.grading import Grader, exercise
from labkit.lessons.n05_streaming import reference
from labkit.lessons.n05_streaming.middleware_kit import (
    HEALTH_PATHS,
    MIDDLEWARES,
    MiddlewareCounter,
    build_app,
    expected_runs,
    replay_script,
    request_script,
)

# ---- 05.compress_response ------------------------------------------------------------------------
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
        import brotli

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
def grade_compress_response(g: Grader, compress_response: Any) -> None:
    cases = compression_cases(g.run(json_bodies(g.dataset("tiny"))))
    failures: list[str] = []
    saved = []
    for case in cases:
        result = g.call(compress_response, case.body, case.accept, case.min_size)
        g.expect(
            isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], Mapping),
            f"compress_response should return (payload, headers), got {type(result).__name__}",
            hint="Return a pair: the bytes to send and a dict of headers to add.",
        )
        payload, headers = result
        got = content_encoding(headers)
        _, ref_headers = reference.compress_response(case.body, case.accept, case.min_size)
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


# ---- 05.schema_encoder ---------------------------------------------------------------------------
@contextmanager
def count_stdlib_json() -> Iterator[list[int]]:
    """Count standard-library JSON encodes made by this thread (``json.dumps`` and encoders).

    ``JSONEncoder.iterencode`` is what every ``json.dumps``/``encode`` of a non-string reaches,
    even through a name imported before the check started. Other threads (the notebook's own
    messaging) are not counted.
    """
    calls = [0]
    thread = threading.get_ident()
    original = json.JSONEncoder.iterencode

    def counting(self: json.JSONEncoder, o: Any, _one_shot: bool = False) -> Any:
        if threading.get_ident() == thread:
            calls[0] += 1
        return original(self, o, _one_shot)

    json.JSONEncoder.iterencode = counting  # type: ignore[method-assign]
    try:
        yield calls
    finally:
        json.JSONEncoder.iterencode = original  # type: ignore[method-assign]


def first_field_difference(got: Any, expected: list[dict[str, Any]]) -> str | None:
    if not isinstance(got, list):
        return f"the document is a {type(got).__name__}, expected an array of users"
    if len(got) != len(expected):
        return f"{len(got)} users encoded, expected {len(expected)}"
    for item, want in zip(got, expected, strict=True):
        if not isinstance(item, dict) or set(item) != set(want):
            fields = sorted(item) if isinstance(item, dict) else type(item).__name__
            return f"user {want['id']}: fields {fields}, expected {sorted(want)}"
        for name, value in want.items():
            if type(item[name]) is not type(value) or item[name] != value:
                return (
                    f"user {want['id']}, {name}: expected {value!r} ({type(value).__name__}), "
                    f"got {item[name]!r} ({type(item[name]).__name__})"
                )
    return None


@exercise(
    "05.schema_encoder",
    title="A typed schema encoder with msgspec: public fields only, validated",
    answers=("make_public_encoder",),
    hint="Inside make_public_encoder declare class PublicUser(msgspec.Struct) with the public "
    "fields and their types and one msgspec.json.Encoder(); return a function that does "
    "encoder.encode(msgspec.convert(rows, list[PublicUser], strict=False)).",
    points=2,
    timeout=15.0,
)
def grade_schema_encoder(g: Grader, make_public_encoder: Any) -> None:
    path = g.dataset("tiny")

    async def load() -> list[dict[str, Any]]:
        async with connect(path) as db:
            return [dict(r) for r in await db.execute_fetchall("SELECT * FROM users ORDER BY id")]

    rows = g.run(load())
    with count_stdlib_json() as json_calls:
        encode = g.call(make_public_encoder)
        g.expect(
            callable(encode),
            f"make_public_encoder should return a function encode(rows), got "
            f"{type(encode).__name__}",
        )
        got = g.call(encode, [dict(r) for r in rows])
    g.expect(
        isinstance(got, bytes | bytearray | str),
        f"encode(rows) should return the JSON document (bytes), got {type(got).__name__}",
    )
    try:
        decoded = json.loads(got)
    except ValueError as exc:
        g.expect(False, f"the output is not JSON: {exc}")
    expected = json.loads(reference.json_baseline(rows))
    difference = first_field_difference(decoded, expected)
    g.expect(
        difference is None,
        f"the document differs from the json baseline: {difference}",
        hint="Only id, name, tier, is_active (a boolean), country and created_at: never the "
        "email or the bio.",
    )
    g.measure(
        "standard-library json encodes",
        json_calls[0],
        target="0 (all encoding done by msgspec)",
        ok=json_calls[0] == 0,
        hint="json.dumps is the slow baseline: encode with msgspec.json.encode or an Encoder.",
    )
    bad = [dict(r) for r in rows[:3]]
    bad[1]["created_at"] = "yesterday"
    rejected = True
    try:
        encode(bad)  # expected to raise: the learner's exception is the answer
        rejected = False
    except Exception:
        pass
    g.measure(
        "row with created_at='yesterday' rejected",
        "yes" if rejected else "no",
        target="yes (the schema validates types)",
        ok=rejected,
        hint="Validate while converting: msgspec.convert(rows, list[PublicUser], strict=False) "
        "raises msgspec.ValidationError on a wrong type.",
    )


# ---- 05.selective_middleware ---------------------------------------------------------------------
@exercise(
    "05.selective_middleware",
    title="Health checks skip body parsing, sessions and auth",
    answers=("skip_for",),
    hint="Return a class whose __init__(self, app, **options) builds middleware_class(app, "
    "**options) and whose __call__ sends requests for exactly those paths straight to app.",
    points=2,
    timeout=15.0,
)
def grade_selective_middleware(g: Grader, skip_for: Any) -> None:
    script = request_script(g.seed)
    wrapped = {}
    for cls in MIDDLEWARES:
        made = g.call(skip_for, cls, HEALTH_PATHS)
        g.expect(
            callable(made),
            f"skip_for({cls.__name__}, paths) should return a middleware class, got "
            f"{type(made).__name__}",
        )
        wrapped[cls] = made
    counter = MiddlewareCounter()
    app = build_app(counter, wrap=lambda cls: wrapped[cls])
    ref_counter = MiddlewareCounter()
    ref_app = build_app(ref_counter, wrap=lambda cls: reference.skip_for(cls, HEALTH_PATHS))

    async def serve() -> list[int]:
        return await replay_script(app, script)

    serve.__name__ = "skip_for"  # errors raised while serving come from the learner's class
    statuses = g.call(serve)
    expected_statuses = g.run(replay_script(ref_app, script))
    for item, got, want in zip(script, statuses, expected_statuses, strict=True):
        g.expect(
            got == want,
            f"{item.label}: status {got}, expected {want}",
            hint="Skip only the exact paths given: /health/details and /api/me must still "
            "require the token."
            if want == 401
            else "Health probes carry no token: auth must not run for them.",
        )
    probes = sum(counter.on(p) for p in HEALTH_PATHS)
    probe_requests = sum(item.path in HEALTH_PATHS for item in script)
    g.measure(
        f"middleware runs on {probe_requests} health probes",
        probes,
        target="0",
        ok=probes == 0,
        hint="Compare scope['path'] with the paths before calling the wrapped middleware.",
    )
    expected = expected_runs(script, HEALTH_PATHS)
    others = {path: counter.on(path) for path in expected}
    g.measure(
        "middleware runs on the other paths",
        sum(others.values()),
        target=f"= {sum(expected.values())} (every middleware, once per request)",
        ok=others == dict(expected),
        hint="Every other request goes through the wrapped middleware, exactly once.",
    )
