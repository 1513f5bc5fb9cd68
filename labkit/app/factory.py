"""``create_app``: the lab API with the chosen optimisations switched on."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from labkit.app.cache import DiskStore, LayeredCache, counted_flight, shared_store
from labkit.app.database import (
    CONNECTIONS,
    RETRY_AFTER_S,
    Database,
    make_private_dir,
    prepare_in_place,
    prepare_working_copy,
)
from labkit.app.limits import DEFAULT_MAX_BODY_BYTES, BodyLimit
from labkit.app.methods import AllowedMethods
from labkit.app.metrics import AppCounters
from labkit.app.middleware import (
    CompressionMiddleware,
    HealthShortcut,
    InnerTiming,
    TimingMiddleware,
)
from labkit.app.openapi import COMMON, error_responses, install
from labkit.app.ratelimit import RateLimiter
from labkit.app.routes import export, feed, meta, posts, products, search, users
from labkit.app.state import LabState
from labkit.app.toggles import Toggles
from labkit.db import DatabaseBusy
from labkit.errors import ServerError

log = logging.getLogger("labkit.app")


def default_dataset() -> Path:
    """The shared ``small`` dataset, built on first use."""
    try:
        from labkit.data import ensure
    except ImportError as exc:  # pragma: no cover - only while the data package is missing
        raise ServerError("labkit.data is not available: pass dataset=PATH") from exc
    return Path(ensure("small").path)


def create_app(
    dataset: str | Path | None = None,
    optimize: str | Iterable[str] | Toggles | None = "none",
    latency_ms: float = 0.0,
    *,
    copy: bool = True,
    cache_dir: str | Path | None = None,
    shared_limits: bool = False,
    slow_ms: float = 200.0,
    db_connections: int = CONNECTIONS,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> FastAPI:
    """The lab API over a SQLite dataset, with the optimisations in ``optimize`` switched on.

    ``optimize`` is "none" (the slow baseline), "all", or names from ``OPTIMIZATIONS``.
    ``latency_ms`` adds a simulated network round trip to every SQL statement. The app works
    on a private copy of ``dataset`` (``copy=False`` only for a copy the caller already owns,
    as ``LabServer`` does). ``cache_dir`` is the shared L2 directory (a private temp dir by
    default); ``shared_limits`` keeps rate-limit counts there too, so several workers agree.
    Connections open lazily, up to ``db_connections`` per event loop (a ``labkit.db.Pool``), so
    it also runs under ``httpx.ASGITransport`` without lifespan.
    A request body over ``max_body_bytes`` is answered 413 before it is read.
    """
    toggles = Toggles.parse(optimize)
    source = Path(dataset) if dataset is not None else default_dataset()
    counters = AppCounters()

    app = FastAPI(
        title="labkit lab API",
        version="1.0",
        description=f"The course's demo backend. Optimisations on: {toggles.label}.",
        lifespan=_lifespan,
    )
    if copy:
        working = prepare_working_copy(source, make_private_dir(app), indexes="indexes" in toggles)
    else:
        working = source
        prepare_in_place(working, indexes="indexes" in toggles)

    store = None
    if "cache" in toggles or shared_limits:
        store = shared_store(Path(cache_dir) if cache_dir else make_private_dir(app) / "l2")
    state = LabState(
        toggles=toggles,
        db=Database(working, latency_ms=latency_ms, connections=db_connections, counters=counters),
        counters=counters,
        source=source,
        store=store,
    )
    if "cache" in toggles:
        state.cache = LayeredCache(store, counters=counters)
    if "dedupe" in toggles:
        state.flight = counted_flight(counters)
    if "rate_limit" in toggles:
        # One limiter for the app's lifetime: a limiter built per request never limits.
        state.limiter = RateLimiter(store=store if shared_limits else None)
    app.state.lab = state

    for module in (meta, users, posts, feed, products, search, export):
        app.include_router(module.router, responses=error_responses(*COMMON))
    install(app)  # before AllowedMethods reads the document
    app.add_exception_handler(DatabaseBusy, _database_busy)
    app.add_exception_handler(Exception, _internal_error)

    # add_middleware wraps: the last added runs first.
    app.add_middleware(InnerTiming)  # innermost: the ``app`` phase of Server-Timing
    if "compression" in toggles:
        app.add_middleware(CompressionMiddleware, counters=counters)
    app.add_middleware(TimingMiddleware, counters=counters, slow_ms=slow_ms)
    app.add_middleware(AllowedMethods, openapi=app.openapi)
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    app.add_middleware(HealthShortcut)
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    state: LabState = app.state.lab
    state.loop_lag.start()
    try:
        yield
    finally:
        await state.loop_lag.stop()
        await state.db.aclose()
        if isinstance(state.store, DiskStore):
            state.store.close()


async def _database_busy(request: Request, exc: Exception) -> JSONResponse:
    log.warning("database busy on %s %s: %s", request.method, request.url.path, exc)
    return JSONResponse(
        {"detail": f"the database is busy; retry after {RETRY_AFTER_S} s"},
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


async def _internal_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return JSONResponse({"detail": "internal error"}, status_code=500)
