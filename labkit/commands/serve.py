"""``labkit serve``: run the lab API on 127.0.0.1 until Ctrl-C."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from typing import Any

from labkit.app.runtime import RUNTIMES
from labkit.app.toggles import DESCRIPTIONS, OPTIMIZATIONS


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run the lab API (optionally tuned) on a local port",
        description="Run the lab API under uvicorn on 127.0.0.1. Optimisations: "
        + "; ".join(f"{name}: {DESCRIPTIONS[name]}" for name in OPTIMIZATIONS),
    )
    parser.add_argument(
        "--optimize", default="none", help="none (default), all, or names joined by commas"
    )
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--port", type=int, default=None, help="default: a free port")
    parser.add_argument("--host", default="127.0.0.1", help="default 127.0.0.1 (loopback only)")
    parser.add_argument(
        "--latency-ms", type=float, default=0.0, help="simulated round trip per SQL statement"
    )
    parser.add_argument(
        "--max-body-bytes",
        type=int,
        default=None,
        help="larger request bodies are answered 413 (default: the lab API's limit, 1 MiB)",
    )
    parser.add_argument("--dataset", default=None, help="SQLite file (default: the small dataset)")
    parser.add_argument(
        "--runtime",
        choices=sorted(RUNTIMES),
        default=None,
        help="event loop and HTTP parser: uvloop (uvloop + httptools, the default where "
        "installed) or asyncio (asyncio + h11, pure Python)",
    )
    parser.set_defaults(func=run)


class Stopped(Exception):
    """SIGTERM arrived: leave the ``with`` block so the server and its files are removed."""


def _stop_on_sigterm(signum: int, frame: object) -> None:
    raise Stopped


def run(args: argparse.Namespace) -> int:
    from labkit.app.server import LabServer

    # Without a handler SIGTERM ends Python at once: no clean-up, the temp folder stays.
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    server = LabServer(
        optimize=args.optimize,
        workers=args.workers,
        dataset=args.dataset,
        latency_ms=args.latency_ms,
        host=args.host,
        port=args.port,
        runtime=args.runtime,
        **({} if args.max_body_bytes is None else {"max_body_bytes": args.max_body_bytes}),
    )
    try:
        with server:  # leaving it, however, stops the server and removes its files
            print(
                f"lab API on {server.url} (optimize: {server.toggles.label}, workers: "
                f"{server.workers}, runtime: {server.runtime}); docs at {server.url}/docs "
                "— Ctrl-C to stop",
                flush=True,
            )
            while server.running:
                time.sleep(0.5)
    except (KeyboardInterrupt, Stopped):  # at any moment, even while starting or printing
        print("stopping", flush=True)
        return 0
    print(f"labkit serve: the server exited: {server.log_tail(1)}", file=sys.stderr)
    return 1
