"""05.schema_encoder — a typed schema encoder with msgspec: public fields only, validated.

The check encodes the seeded users and a reshuffled, altered copy of them (an encoder that
remembers its first answer fails the second), compares each document field by field and type
by type with the public view, feeds a row with a wrong type (it must raise), and counts the
standard-library JSON encodes made on *any* thread while the answer runs: ``json.dumps`` sent
to a worker thread is still ``json.dumps``. Encodes made by the notebook's own machinery
(ipykernel, jupyter_client, zmq) are not the answer's and are not counted.
"""

from __future__ import annotations

import json
import random
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Final

import msgspec

from labkit.db import connect
from labkit.errors import InstrumentBlinded
from labkit.grading import Grader, exercise, reference_answer
from labkit.lessons.n05_streaming import leftovers
from labkit.lessons.n05_streaming.tampering import blinding_is_not_yet

PUBLIC_FIELDS: Final = ("id", "name", "tier", "is_active", "country", "created_at")
# packages whose JSON encodes are the notebook's messaging, never the learner's answer
_INFRASTRUCTURE: Final = ("ipykernel", "jupyter_client", "zmq", "tornado", "IPython", "comm")


class PublicUser(msgspec.Struct):
    """What the API may show of a user: no email, no bio; ``is_active`` as a real boolean."""

    id: int
    name: str
    tier: str
    is_active: bool
    country: str
    created_at: int


@reference_answer
def make_public_encoder() -> Callable[[list[dict[str, Any]]], bytes]:
    """``encode(rows)``: validate rows against ``PublicUser`` and encode them as JSON.

    The schema and the encoder are built once; unknown fields (email, bio) are dropped and a
    wrong type raises ``msgspec.ValidationError``.
    """
    encoder = msgspec.json.Encoder()

    @reference_answer
    def encode(rows: list[dict[str, Any]]) -> bytes:
        users = msgspec.convert(rows, list[PublicUser], strict=False)  # 0/1 → False/True
        return encoder.encode(users)

    return encode


@reference_answer
def json_baseline(rows: list[dict[str, Any]]) -> bytes:
    """The same document with the standard library: the slow, obvious version."""
    public = [
        {f: (bool(row[f]) if f == "is_active" else row[f]) for f in PUBLIC_FIELDS} for row in rows
    ]
    return json.dumps(public, separators=(",", ":")).encode()


def public_view(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The expected document, decoded: public fields, ``is_active`` a boolean."""
    return [
        {f: (bool(row[f]) if f == "is_active" else row[f]) for f in PUBLIC_FIELDS} for row in rows
    ]


def _from_infrastructure() -> bool:
    frame = sys._getframe(2)
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if module.split(".", 1)[0] in _INFRASTRUCTURE:
            return True
        frame = frame.f_back  # type: ignore[assignment]
    return False


@dataclass
class JsonCount:
    calls: int = 0
    threads: int = 0  # of those, made on threads other than the check's
    hook: Any = None


@contextmanager
def count_stdlib_json() -> Iterator[JsonCount]:
    """Count standard-library JSON encodes, on every thread (``json.dumps`` and encoders).

    ``JSONEncoder.iterencode`` is what every ``json.dumps``/``encode`` of a non-string reaches,
    even through a name imported before the check started.
    """
    count = JsonCount()
    here = threading.get_ident()
    original = json.JSONEncoder.iterencode

    def counting(self: json.JSONEncoder, o: Any, _one_shot: bool = False) -> Any:
        if not _from_infrastructure():
            count.calls += 1
            count.threads += threading.get_ident() != here
        return original(self, o, _one_shot)

    count.hook = counting
    json.JSONEncoder.iterencode = counting  # type: ignore[method-assign]
    try:
        yield count
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


def altered(rows: list[dict[str, Any]], seed: int) -> list[dict[str, Any]]:
    """A second input of a different length, order and content (defeats a memo)."""
    rng = random.Random(seed)
    picked = [dict(r) for r in rng.sample(rows, len(rows) * 2 // 3)]
    for row in picked:
        row["name"] = f"{row['name']} {rng.choice(('Jr.', 'Zoë', 'Ødegaard', '李'))}"
        row["is_active"] = 1 - int(row["is_active"])
        row["created_at"] += rng.randrange(1, 86_400)
    return picked


def decoded(g: Grader, got: Any, what: str) -> Any:
    g.expect(
        isinstance(got, bytes | bytearray | str),
        f"encode(rows) should return the JSON document (bytes), got {type(got).__name__}",
    )
    try:
        return json.loads(got)
    except ValueError as exc:
        g.expect(False, f"{what}: the output is not JSON: {exc}")


ANSWER: Final = "make_public_encoder"


@exercise(
    "05.schema_encoder",
    title="A typed schema encoder with msgspec: public fields only, validated",
    answers=(ANSWER,),
    hint="Inside make_public_encoder declare class PublicUser(msgspec.Struct) with the public "
    "fields and their types and one msgspec.json.Encoder(); return a function that does "
    "encoder.encode(msgspec.convert(rows, list[PublicUser], strict=False)).",
    points=2,
    timeout=15.0,
)
@blinding_is_not_yet
async def grade_schema_encoder(g: Grader, answer: Any) -> None:
    async with connect(g.dataset("tiny")) as db:
        rows = [dict(r) for r in await db.execute_fetchall("SELECT * FROM users ORDER BY id")]
    inputs = [("the users", rows), ("altered users", altered(rows, g.seed))]
    before = leftovers.snapshot()
    with count_stdlib_json() as json_calls:
        encode = await g.acall(answer)
        g.expect(
            callable(encode),
            f"make_public_encoder should return a function encode(rows), got "
            f"{type(encode).__name__}",
        )
        outputs = [await g.acall(encode, [dict(r) for r in data]) for _, data in inputs]
        running = await leftovers.left_running(before)
        if json.JSONEncoder.iterencode is not json_calls.hook:
            raise InstrumentBlinded(
                "json.JSONEncoder.iterencode was replaced while your answer ran: the check "
                "counts standard-library encodes with it. Leave the json module alone."
            )
    g.expect(not running, f"encode left work running after it returned: {running[0]}"
             if running else "", hint="Encode inside encode(); start no thread.")  # fmt: skip
    for (what, data), got in zip(inputs, outputs, strict=True):
        difference = first_field_difference(decoded(g, got, what), public_view(data))
        g.expect(
            difference is None,
            f"{what}: the document differs from the public view: {difference}",
            hint="Only id, name, tier, is_active (a boolean), country and created_at: never "
            "the email or the bio.",
        )
    g.measure(
        "standard-library json encodes (any thread)",
        json_calls.calls,
        target="0 (all encoding done by msgspec)",
        ok=json_calls.calls == 0,
        hint="json.dumps is the slow baseline — on a worker thread too: encode with "
        "msgspec.json.encode or an Encoder.",
    )
    bad = [dict(r) for r in rows[:3]]
    bad[1]["created_at"] = "yesterday"
    rejected = True
    try:
        await g.acall(encode, bad)
        rejected = False
    except Exception:  # the learner's exception (a NotYet) is the answer here
        pass
    g.measure(
        "row with created_at='yesterday' rejected",
        "yes" if rejected else "no",
        target="yes (the schema validates types)",
        ok=rejected,
        hint="Validate while converting: msgspec.convert(rows, list[PublicUser], strict=False) "
        "raises msgspec.ValidationError on a wrong type.",
    )
