"""``labkit loadtest``: load-test a URL (or a fresh lab server) and print/save the result."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from labkit.load.plan import PROFILES


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "loadtest",
        help="load-test the lab API (closed or open loop) and report percentiles",
        description="Closed loop (virtual users) by default; --rate for an open loop that "
        "times each request from when it was due. Profiles: "
        + ", ".join(f"{k} = {v} VUs × {d:g} s" for k, (v, d) in PROFILES.items()),
    )
    parser.add_argument("url", nargs="?", help="base or full URL; omit with --serve")
    parser.add_argument("--serve", metavar="OPTIMIZE", help="start a lab server (none, all, ...)")
    parser.add_argument("--workers", type=int, default=1, help="workers for --serve")
    parser.add_argument("--endpoints", help="comma-separated paths, e.g. /api/feed?user_id=1")
    parser.add_argument("--profile", choices=sorted(PROFILES), default=None)
    parser.add_argument("--vus", type=int, default=None)
    parser.add_argument("--duration", type=float, default=None, help="seconds measured")
    parser.add_argument("--rate", type=float, default=None, help="requests/s (open loop)")
    parser.add_argument(
        "--requests", type=int, default=None, help="stop after this many requests (closed loop)"
    )
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds not recorded")
    parser.add_argument("--once", action="store_true", help="time the phases of one request")
    parser.add_argument("-o", "--output", help="write the result as JSON (for labkit report)")
    parser.add_argument(
        "--profile-server",
        metavar="HTML",
        nargs="?",
        const="",
        default=None,
        help="with --serve: profile the server's worker (pyinstrument) during the load; print "
        "the call tree and the hottest frames, and write the HTML view to HTML if given",
    )
    parser.add_argument(
        "--export-k6",
        metavar="SCRIPT",
        help="write the same load as a k6 script (k6 run SCRIPT) instead of running it; "
        "read k6's `--out json=FILE` back with `labkit report`",
    )
    parser.add_argument(
        "--allow-errors",
        action="store_true",
        help="exit 0 even when more than 5%% of requests fail (breaking-point runs)",
    )
    parser.add_argument("--no-progress", action="store_true")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from labkit.errors import LoadError
    from labkit.load.plan import check_requests, check_warmup, choose_shape
    from labkit.output_files import output_path

    # Everything that can be wrong with the command line is found before the load starts.
    choose_shape(args.profile, args.vus, args.duration, args.rate)
    check_warmup(args.warmup)
    if args.requests is not None:
        check_requests(args.requests, args.rate)
        if args.export_k6 is not None or args.profile_server is not None or args.once:
            raise LoadError(
                "--requests counts a load run: not with --export-k6, --profile-server or --once"
            )
    if args.output is not None:
        args.output = output_path(args.output, what="-o")
    if args.export_k6 is not None:
        args.export_k6 = output_path(args.export_k6, what="--export-k6")
    if not args.url and not args.serve:
        raise LoadError("give a URL, or --serve none|all to start a lab server")
    endpoints = args.endpoints.split(",") if args.endpoints else None
    if args.profile_server is not None and not args.serve:
        raise LoadError("--profile-server needs --serve (a lab server this command starts)")
    if args.export_k6:
        if args.serve:
            raise LoadError(
                "--export-k6 needs the URL of a running server (start one with `labkit serve`): "
                "a --serve server stops when this command ends"
            )
        return _export_k6(args.url, endpoints, args)
    if args.serve:
        from labkit.app.server import LabServer

        with LabServer(optimize=args.serve, workers=args.workers) as server:
            if args.profile_server is not None:
                return asyncio.run(_profile(server, endpoints, args))
            return asyncio.run(_run(server, endpoints, args))
    return asyncio.run(_run(args.url, endpoints, args))


async def _run(target: Any, endpoints: list[str] | None, args: argparse.Namespace) -> int:
    from labkit.errors import LoadError
    from labkit.load import request_timing, run_load
    from labkit.load.plan import resolve_target

    if args.once:
        base, paths = resolve_target(target, endpoints)
        for path in paths:
            print(await request_timing(base + path))
        return 0
    result = await run_load(
        target,
        endpoints,
        vus=args.vus,
        duration=args.duration,
        rate=args.rate,
        requests=args.requests,
        warmup=args.warmup,
        profile=args.profile,
        progress=not args.no_progress,
    )
    print(result)
    if args.output:
        from labkit.output_files import write_atomically

        write_atomically(args.output, result.to_json())
        print(f"saved {args.output}")
    problem = result.failure_problem()
    if problem and not args.allow_errors:
        raise LoadError(f"{problem}: check the endpoints (or pass --allow-errors)")
    return 0 if result.complete else 1


def _export_k6(url: str, endpoints: list[str] | None, args: argparse.Namespace) -> int:
    from labkit.load.k6 import k6_script
    from labkit.load.plan import choose_shape, resolve_target
    from labkit.output_files import write_atomically

    base, paths = resolve_target(url, endpoints)
    vus, duration = choose_shape(args.profile, args.vus, args.duration, args.rate)
    target = args.export_k6
    script = k6_script(
        base, paths, vus=vus, duration=duration, rate=args.rate, warmup=args.warmup,
        name=target.name,
    )  # fmt: skip
    write_atomically(target, script)
    print(f"saved {target}: k6 run {target}   (or k6 run --out json=points.json {target}, then")
    print("labkit report points.json after.json: the k6 run as the baseline)")
    return 0


async def _profile(server: Any, endpoints: list[str] | None, args: argparse.Namespace) -> int:
    from pathlib import Path

    from labkit.load.plan import choose_shape
    from labkit.load.server_profile import profile_under_load

    vus, duration = choose_shape(args.profile, args.vus, args.duration, None)
    profile = await profile_under_load(
        server, endpoints, seconds=duration, vus=vus, warmup=args.warmup
    )
    print(profile.result.headline())
    print(profile.text())
    print("\nhottest frames of the lab API (time inside each, callees included):")
    print(profile.top_frames().to_string(index=False, float_format=lambda v: f"{v:,.3f}"))
    if args.profile_server:
        Path(args.profile_server).write_text(profile.html())
        print(f"saved {args.profile_server}")
    if args.output:
        profile.result.to_json(args.output)
        print(f"saved {args.output}")
    return 0 if profile.result.complete else 1
