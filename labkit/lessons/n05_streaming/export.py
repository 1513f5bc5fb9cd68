"""05.export_stream — stream the users export as JSON, NDJSON and CSV, chunk by chunk.

The check drains the answer for each format (each with its own batch size), an empty table
for each format, and counts: the chunks, the share of the body yielded before the table's last
rows were read (an export that keeps its chunks and yields them at the end — even after an
early "[" — has read the whole table by then),
and the statements it sent (no offset, whichever way it is spelled; one per batch).
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import AsyncIterator
from typing import Any, Final, Literal

import aiosqlite
import orjson

from labkit.app.export_format import EXPORT_COLUMNS, csv_lines
from labkit.db import connect
from labkit.grading import Grader, exercise, reference_answer
from labkit.lessons.n05_streaming import statement_cost
from labkit.lessons.n05_streaming.collect import MIN_SHARE_BEFORE_END, drain_counted
from labkit.lessons.n05_streaming.keyset import keyset_batches
from labkit.lessons.n05_streaming.tampering import blinding_is_not_yet

Format = Literal["csv", "json", "ndjson"]
ANSWER: Final = "export_users"


@reference_answer
async def export_users(
    db: aiosqlite.Connection, fmt: Format, batch_size: int
) -> AsyncIterator[bytes]:
    """The users export as chunks of bytes, one chunk per keyset batch.

    JSON: "[" + items joined by "," + "]" (an empty table is "[]"); NDJSON: one object per
    line; CSV: a header line, then one line per user.
    """
    first = True
    async for rows in keyset_batches(db, "users", batch_size):
        if fmt == "csv":
            yield csv_lines(rows, header=first)
        else:
            items = [orjson.dumps({c: row[c] for c in EXPORT_COLUMNS}) for row in rows]
            if fmt == "ndjson":
                yield b"".join(item + b"\n" for item in items)
            else:
                yield (b"[" if first else b",") + b",".join(items)
        first = False
    if fmt == "json":
        yield b"[]" if first else b"]"
    elif fmt == "csv" and first:
        yield csv_lines([], header=True)


def parse_export(fmt: str, body: bytes) -> list[dict[str, Any]]:
    """The export as a list of dicts (CSV values stay strings); ValueError when it is invalid."""
    text = body.decode("utf-8")
    if fmt == "json":
        data = json.loads(text)
        if not isinstance(data, list):
            raise ValueError(f"the document is a {type(data).__name__}, not an array")
        return data
    if fmt == "ndjson":
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        return [json.loads(line) for line in lines]
    reader = csv.DictReader(io.StringIO(text))
    if tuple(reader.fieldnames or ()) != EXPORT_COLUMNS:
        raise ValueError(f"header is {reader.fieldnames}, expected {list(EXPORT_COLUMNS)}")
    return list(reader)


def as_csv_values(rows: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [{k: str(v) for k, v in row.items()} for row in rows]


FORMAT_BATCHES: Final = (("json", 8), ("ndjson", 11), ("csv", 6))


def joined(g: Grader, fmt: str, chunks: list[Any]) -> bytes:
    bad = [type(c).__name__ for c in chunks if not isinstance(c, bytes | bytearray)]
    g.expect(not bad, f"{fmt}: yield bytes, got a {bad[0] if bad else ''} chunk",
             hint="Encode each chunk: text.encode() or orjson.dumps(...).")  # fmt: skip
    return b"".join(chunks)


def parsed(g: Grader, fmt: str, body: bytes) -> list[dict[str, Any]]:
    try:
        return parse_export(fmt, body)
    except (ValueError, UnicodeDecodeError) as exc:
        g.expect(False, f"the {fmt} export does not parse: {exc}",
                 hint=f"Start of the output: {body[:80]!r}")  # fmt: skip
        raise AssertionError("unreachable") from None


@exercise(
    "05.export_stream",
    title="Stream the users export as JSON, NDJSON and CSV",
    answers=(ANSWER,),
    hint="Loop over your keyset batches; yield one chunk per batch. JSON: '[' before the first "
    "item, ',' between items (also between batches), ']' at the end; NDJSON: one object per "
    "line; CSV: the header once.",
    points=3,
    timeout=15.0,
)
@blinding_is_not_yet
async def grade_export_stream(g: Grader, answer: Any) -> None:
    path = g.dataset("tiny")
    columns = ", ".join(EXPORT_COLUMNS)
    async with connect(path) as db:
        found = await db.execute_fetchall(f"SELECT {columns} FROM users ORDER BY id")
        rows = [dict(r) for r in found]
        for fmt, size in FORMAT_BATCHES:
            got, fetches = await drain_counted(g, answer, ANSWER, db, fmt, size)
            batches = math.ceil(len(rows) / size)
            body = joined(g, fmt, got.items)
            expected = as_csv_values(rows) if fmt == "csv" else rows
            g.expect_equal(
                parsed(g, fmt, body), expected, what=f"{fmt} export ({len(rows)} users, id order)"
            )
            early = got.share_before_end([len(c) for c in got.items], len(rows))
            g.measure(
                f"{fmt}: bytes yielded before the table's last rows were read",
                f"{early:.0%}",
                target=f"≥ {MIN_SHARE_BEFORE_END:.0%} (each batch as soon as it is encoded)",
                ok=early >= MIN_SHARE_BEFORE_END,
                hint="The chunks waited until the whole table was read: yield each batch as "
                "soon as it is encoded instead of keeping the chunks for the end.",
            )
            g.measure(
                f"{fmt}: chunks yielded",
                len(got.items),
                target=f"≥ {batches} (one per batch of {size})",
                ok=len(got.items) >= batches,
                hint="Yield each batch as soon as it is encoded; building the whole body first "
                "is what streaming avoids.",
            )
            offsets = sum(statement_cost.skips_rows(sql) for sql, _ in fetches.statements)
            sent = len(fetches.statements)
            g.measure(
                f"{fmt}: statements",
                f"{sent}, {offsets} with an offset" if offsets else sent,
                target=f"{batches}–{batches + 1}, no OFFSET (nor LIMIT k, n)",
                ok=batches <= sent <= batches + 1 and not offsets,
                hint="Read with keyset batches (WHERE id > last ORDER BY id LIMIT batch_size).",
            )
        await db.execute("DELETE FROM users WHERE id > 0")  # foreign keys are not enforced here
        await db.commit()
        empty_expected = {"json": "[] (an empty array)", "ndjson": "nothing", "csv": "the header"}
        for fmt, size in FORMAT_BATCHES:
            got, _ = await drain_counted(g, answer, ANSWER, db, fmt, size)
            body = joined(g, fmt, got.items)
            try:
                ok = parse_export(fmt, body) == []
            except (ValueError, UnicodeDecodeError):
                ok = False
            g.expect(
                ok,
                f"an empty users table should export as {empty_expected[fmt]} in {fmt} — got "
                f"{body[:40]!r}",
                hint="Open the array even when no batch comes (remember whether you wrote '['); "
                "write the CSV header even when there are no rows.",
            )
