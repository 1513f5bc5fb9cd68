"""Lesson 05 helpers: exact tables, row digests, fetch counting, peak memory, the export and
compression references, and the counting middleware app."""

from __future__ import annotations

import asyncio
import gzip
import json
import sqlite3
import threading
from contextlib import closing
from pathlib import Path
from typing import Any

import brotli
import pytest

from labkit.app import create_app
from labkit.data import ensure, fresh_copy
from labkit.db import connect
from labkit.lessons.n05_streaming import compression, export, keyset, stream_rows
from labkit.lessons.n05_streaming.export import parse_export
from labkit.lessons.n05_streaming.middleware_kit import (
    HEALTH_PATHS,
    MIDDLEWARES,
    MiddlewareCounter,
    asgi_get,
    build_app,
    expected_runs,
    replay_script,
    request_script,
)
from labkit.lessons.n05_streaming.schema_encoder import (
    count_stdlib_json,
    first_field_difference,
    json_baseline,
    make_public_encoder,
)
from labkit.lessons.n05_streaming.selective_middleware import skip_for
from labkit.lessons.n05_streaming.tables import (
    USER_COLUMNS,
    RowDigest,
    count_fetches,
    make_users_db,
    peak_bytes,
    user_rows,
)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


# ---- tables -------------------------------------------------------------------------------------
def test_users_table_has_exactly_n_rows_and_is_deterministic(tmp_path: Path) -> None:
    path = make_users_db(tmp_path / "a.sqlite", 250, seed=7)
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("SELECT COUNT(*), MIN(id), MAX(id) FROM users").fetchone() == (
            250,
            1,
            250,
        )
    assert list(user_rows(20, 7)) == list(user_rows(20, 7))
    assert list(user_rows(20, 7)) != list(user_rows(20, 8))
    make_users_db(path, 10, seed=7)  # rebuilding replaces the file
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("SELECT COUNT(*) FROM users").fetchone() == (10,)


def test_row_digest_depends_on_rows_and_order() -> None:
    rows = list(user_rows(5, 1))
    a, b, c = RowDigest(), RowDigest(), RowDigest()
    for row in rows:
        a(row)
        b(dict(zip(USER_COLUMNS, row, strict=True)))
    for row in reversed(rows):
        c(row)
    assert a.count == b.count == c.count == 5
    assert a.digest == b.digest != c.digest
    bad = RowDigest()
    bad((1, 2))
    assert bad.count == 0 and bad.bad is not None and "expected 8 columns" in bad.bad


def test_count_fetches_counts_trips_and_restores_the_connection(tmp_path: Path) -> None:
    path = make_users_db(tmp_path / "u.sqlite", 300, seed=1)

    async def scenario() -> tuple[int, int, dict[str, int]]:
        async with connect(path) as db:
            with count_fetches(db) as counted:
                await stream_rows.stream_users(db, RowDigest(), 100)
            many = counted.fetches
            with count_fetches(db) as counted:
                async with db.execute(stream_rows.STREAM_SQL) as cursor:
                    while await cursor.fetchone() is not None:
                        pass
            assert "_execute" not in vars(db)  # the instance patch is gone
            return many, counted.fetches, counted.by_method

    many, one_by_one, methods = run(scenario())
    assert many == 4  # 3 full batches + the empty one
    assert one_by_one == 301 and methods == {"fetchone": 301}


def test_peak_bytes_grows_with_what_is_held() -> None:
    async def hold(n: int) -> int:
        data = [bytes(1000) for _ in range(n)]
        return len(data)

    async def scenario() -> tuple[int, int]:
        _, small = await peak_bytes(lambda: hold(100))
        _, large = await peak_bytes(lambda: hold(400))
        return small, large

    small, large = run(scenario())
    assert small >= 100_000 and large >= 400_000
    assert 3.5 < large / small < 4.5


# ---- references ---------------------------------------------------------------------------------
def test_keyset_and_export_references_on_the_tiny_dataset(tmp_path: Path) -> None:
    path = fresh_copy("tiny", dest=tmp_path / "tiny.sqlite")

    async def scenario() -> dict[str, Any]:
        async with connect(path) as db:
            batches = [len(b) async for b in keyset.keyset_batches(db, "users", 25)]
            bodies = {
                fmt: b"".join([c async for c in export.export_users(db, fmt, 7)])
                for fmt in ("json", "ndjson", "csv")
            }
            await db.execute("DELETE FROM users")
            empty = {
                fmt: b"".join([c async for c in export.export_users(db, fmt, 7)])
                for fmt in ("json", "ndjson", "csv")
            }
        return {"batches": batches, "bodies": bodies, "empty": empty}

    got = run(scenario())
    assert got["batches"] == [25, 25, 10]
    parsed = {fmt: parse_export(fmt, body) for fmt, body in got["bodies"].items()}
    assert len(parsed["json"]) == len(parsed["ndjson"]) == len(parsed["csv"]) == 60
    assert parsed["json"] == parsed["ndjson"]
    assert parsed["csv"][0]["id"] == "1" and parsed["json"][0]["id"] == 1
    assert got["empty"] == {"json": b"[]", "ndjson": b"", "csv": b"".join(
        [",".join(export.EXPORT_COLUMNS).encode(), b"\n"])}  # fmt: skip


def test_parse_export_rejects_broken_documents() -> None:
    with pytest.raises(ValueError):
        parse_export("json", b'[{"id": 1}{"id": 2}]')
    with pytest.raises(ValueError):
        parse_export("json", b'{"id": 1}')
    with pytest.raises(ValueError):
        parse_export("csv", b"a,b\n1,2\n")


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, set()),
        ("", set()),
        ("identity", {"identity"}),
        ("gzip, deflate, br", {"gzip", "deflate", "br"}),
        ("br;q=0, gzip", {"gzip"}),
        ("GZIP;q=0.5, br;q=0.0", {"gzip"}),
        ("gzip;q=oops", set()),
    ],
)
def test_accepted_encodings(accept: str | None, expected: set[str]) -> None:
    assert compression.accepted_encodings(accept) == expected


def test_compress_response_reference() -> None:
    body = json.dumps([{"id": i, "name": f"user {i}"} for i in range(200)]).encode()
    payload, headers = compression.compress_response(body, "gzip, br")
    assert headers["Content-Encoding"] == "br" and brotli.decompress(payload) == body
    payload, headers = compression.compress_response(body, "gzip")
    assert headers["Content-Encoding"] == "gzip" and gzip.decompress(payload) == body
    assert compression.compress_response(body, "identity")[0] == body
    assert compression.compress_response(body[:1023], "gzip") == (body[:1023], {})
    assert "Content-Encoding" in compression.compress_response(body[:1024], "gzip")[1]


def test_public_encoder_reference_validates_and_drops_private_fields() -> None:
    encode = make_public_encoder()
    rows = [dict(zip(USER_COLUMNS, r, strict=True)) for r in user_rows(3, 2)]
    decoded = json.loads(encode(rows))
    assert first_field_difference(decoded, json.loads(json_baseline(rows))) is None
    assert "email" not in decoded[0] and isinstance(decoded[0]["is_active"], bool)
    rows[1]["created_at"] = "yesterday"
    with pytest.raises(ValueError):
        encode(rows)


def test_first_field_difference_names_the_field_and_types() -> None:
    want = [{"id": 1, "is_active": True}]
    assert first_field_difference([{"id": 1, "is_active": 1}], want) == (
        "user 1, is_active: expected True (bool), got 1 (int)"
    )
    assert "fields" in (first_field_difference([{"id": 1}], want) or "")
    assert first_field_difference({}, want) is not None


def test_stdlib_json_counter_counts_every_thread() -> None:
    with count_stdlib_json() as calls:
        json.dumps({"a": 1})
        worker = threading.Thread(target=lambda: json.dumps([1, 2]))
        worker.start()
        worker.join()
    assert (calls.calls, calls.threads) == (2, 1)
    json.dumps({"b": 2})  # restored: counting has stopped
    assert calls.calls == 2


# ---- middleware kit ------------------------------------------------------------------------------
def test_middleware_app_counts_and_selective_reference_skips_probes() -> None:
    script = request_script(seed=3)
    plain, selective = MiddlewareCounter(), MiddlewareCounter()
    statuses_plain = run(replay_script(build_app(plain), script))
    wrap = lambda cls: skip_for(cls, HEALTH_PATHS)  # noqa: E731
    statuses = run(replay_script(build_app(selective, wrap=wrap), script))
    probes = [i for i, item in enumerate(script) if item.path in HEALTH_PATHS]
    assert probes and all(statuses_plain[i] == 401 for i in probes)
    assert all(statuses[i] == 200 for i in probes)
    assert sum(plain.on(p) for p in HEALTH_PATHS) == len(MIDDLEWARES) * len(probes)
    assert sum(selective.on(p) for p in HEALTH_PATHS) == 0
    assert {p: selective.on(p) for p in expected_runs(script, HEALTH_PATHS)} == dict(
        expected_runs(script, HEALTH_PATHS)
    )
    unauthenticated = [
        s for item, s in zip(script, statuses, strict=True)
        if item.path not in HEALTH_PATHS and not item.token
    ]  # fmt: skip
    assert unauthenticated and set(unauthenticated) == {401}
    notes = [s for item, s in zip(script, statuses, strict=True) if item.path == "/api/notes"]
    assert set(notes) == {201}


def test_request_script_is_seeded() -> None:
    assert request_script(1) == request_script(1)
    assert request_script(1) != request_script(2)


def test_asgi_get_keeps_the_chunks_of_a_streamed_export(tmp_path: Path) -> None:
    path = ensure("small").path  # 1,000 users: two of the app's 500-row batches

    async def scenario() -> dict[str, tuple[int, dict[str, str], list[bytes]]]:
        out = {}
        for optimize in ("none", "streaming"):
            app = create_app(dataset=path, optimize=optimize, cache_dir=tmp_path / "l2")
            out[optimize] = await asgi_get(app, "/api/export/users.ndjson")
        return out

    got = run(scenario())
    (status_a, _, plain), (status_b, _, streamed) = got["none"], got["streaming"]
    assert status_a == status_b == 200
    assert b"".join(plain) == b"".join(streamed)
    assert len(plain) == 1 and len(streamed) == 2


# ---- instruments the checks verify ---------------------------------------------------------------
def test_memory_watch_sees_a_stop_a_restart_and_a_reset_peak() -> None:
    import tracemalloc

    from labkit.errors import InstrumentBlinded
    from labkit.lessons.n05_streaming.memory_watch import MemoryWatch

    watch = MemoryWatch()
    watch.start()
    held = [bytearray(1000) for _ in range(200)]
    watch.sample()
    del held
    watch.finish()
    assert watch.peak >= 200_000 and not tracemalloc.is_tracing()

    def blinded(tamper: Any) -> str:
        watch = MemoryWatch()
        watch.start()
        held = [bytearray(1000) for _ in range(200)]
        watch.sample()
        del held
        tamper()
        with pytest.raises(InstrumentBlinded) as caught:
            watch.finish()
        assert not tracemalloc.is_tracing()
        return str(caught.value)

    assert "switched off" in blinded(tracemalloc.stop)
    assert "restarted" in blinded(lambda: (tracemalloc.stop(), tracemalloc.start()))
    assert "peak was reset" in blinded(tracemalloc.reset_peak)


def test_offsets_are_found_in_either_spelling_and_keyset_steps_stay_flat(tmp_path: Path) -> None:
    from labkit.lessons.n05_streaming import statement_cost

    assert statement_cost.skips_rows("SELECT * FROM t ORDER BY id LIMIT 10 OFFSET 20")
    assert statement_cost.skips_rows("select * from t order by id limit 20, 10")
    assert not statement_cost.skips_rows("SELECT * FROM t WHERE id > 20 ORDER BY id LIMIT 10")
    path = make_users_db(tmp_path / "u.sqlite", 400, seed=3)
    keyset_sql = [(f"SELECT * FROM users WHERE id > {k} ORDER BY id LIMIT 50", ()) for k in
                  range(0, 400, 50)]  # fmt: skip
    offset_sql = [(f"SELECT * FROM users ORDER BY id LIMIT 50 OFFSET {k}", ()) for k in
                  range(0, 400, 50)]  # fmt: skip
    flat = statement_cost.depth_growth(statement_cost.replay(path, keyset_sql), 50)
    grows = statement_cost.depth_growth(statement_cost.replay(path, offset_sql), 50)
    assert flat <= statement_cost.MAX_DEPTH_GROWTH < grows


def test_leftovers_report_busy_threads_and_pending_tasks_not_idle_pool_workers() -> None:
    from labkit.lessons.n05_streaming import leftovers

    async def scenario() -> tuple[list[str], list[str], list[str]]:
        before = leftovers.snapshot()
        await asyncio.to_thread(lambda: None)  # leaves an idle pool worker: not work
        idle = await leftovers.left_running(before)
        before = leftovers.snapshot()
        task = asyncio.ensure_future(asyncio.sleep(10))
        pending = await leftovers.left_running(before)
        assert task.cancelled() or task.cancelling()
        before = leftovers.snapshot()
        stop = threading.Event()
        worker = threading.Thread(target=stop.wait, args=(5,), name="busy")
        worker.start()
        busy = await leftovers.left_running(before)
        stop.set()
        worker.join()
        return idle, pending, busy

    idle, pending, busy = run(scenario())
    assert idle == [] and len(pending) == 1 and busy == ["thread 'busy'"]


def test_installed_gzip_middleware_is_probed_on_a_stream() -> None:
    from labkit.lessons.n05_streaming.gzip_probe import probe_gzip_streaming

    chunks = [json.dumps([{"id": i, "k": "v" * 20} for i in range(200)]).encode()] * 5
    probe = run(probe_gzip_streaming(chunks))
    assert probe.chunks_produced == 5 and probe.raw_bytes == sum(map(len, chunks))
    assert probe.body_messages >= 1 and 1 <= probe.produced_at_first_message <= 5
    assert probe.streams == (probe.produced_at_first_message < 5 and probe.body_messages > 1)
