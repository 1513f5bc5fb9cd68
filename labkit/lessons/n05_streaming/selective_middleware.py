"""05.selective_middleware — health checks skip body parsing, sessions and auth.

The check wraps the three counting middlewares of ``middleware_kit`` with the answer, replays a
seeded mix of probes and API calls, and compares the statuses with the reference's and the
middleware runs per path with the count the rule gives (none on a probe, every middleware once
on every other request).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, Final

from starlette.types import ASGIApp, Receive, Scope, Send

from labkit.grading import Grader, exercise, reference_answer
from labkit.lessons.n05_streaming.middleware_kit import (
    HEALTH_PATHS,
    MIDDLEWARES,
    MiddlewareCounter,
    build_app,
    expected_runs,
    replay_script,
    request_script,
)


@reference_answer
def skip_for(middleware_class: Any, paths: Collection[str]) -> Any:
    """A middleware class that runs ``middleware_class`` except on ``paths`` (exact match)."""
    skipped = frozenset(paths)

    @reference_answer
    class Selective:
        def __init__(self, app: ASGIApp, *args: Any, **kwargs: Any) -> None:
            self.app = app
            self.wrapped = middleware_class(app, *args, **kwargs)

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http" and scope["path"] in skipped:
                await self.app(scope, receive, send)
            else:
                await self.wrapped(scope, receive, send)

    Selective.__name__ = f"Selective{getattr(middleware_class, '__name__', 'Middleware')}"
    return Selective


@exercise(
    "05.selective_middleware",
    title="Health checks skip body parsing, sessions and auth",
    answers=("skip_for",),
    hint="Return a class whose __init__(self, app, **options) builds middleware_class(app, "
    "**options) and whose __call__ sends requests for exactly those paths straight to app.",
    points=2,
    timeout=15.0,
)
async def grade_selective_middleware(g: Grader, answer: Any) -> None:
    script = request_script(g.seed)
    # a second set of paths, with fresh classes and counters: an answer that remembers the
    # first paths (or skips "/health" whatever it is given) fails it
    for paths in (OTHER_PATHS, HEALTH_PATHS):
        wrapped = {}
        for cls in MIDDLEWARES:
            made = await g.acall(answer, cls, paths)
            g.expect(
                callable(made),
                f"skip_for({cls.__name__}, paths) should return a middleware class, got "
                f"{type(made).__name__}",
            )
            wrapped[cls] = made
        counter = MiddlewareCounter()
        app = build_app(counter, wrap=lambda cls, w=wrapped: w[cls])  # type: ignore[misc]
        ref_app = build_app(
            MiddlewareCounter(),
            wrap=lambda cls, p=paths: skip_for(cls, p),  # type: ignore[misc]
        )

        async def serve(app: Any = app) -> list[int]:
            return await replay_script(app, script)

        serve.__name__ = "skip_for"  # errors raised while serving come from the learner's class
        statuses = await g.acall(serve)
        expected_statuses = await replay_script(ref_app, script)
        shown = ", ".join(sorted(paths))
        for item, got, want in zip(script, statuses, expected_statuses, strict=True):
            g.expect(
                got == want,
                f"paths {{{shown}}} skipped — {item.label}: status {got}, expected {want}",
                hint="Skip exactly the paths given (compare scope['path'] with them): every "
                "other path still needs the token."
                if want == 401
                else "A skipped path carries no token: auth must not run for it.",
            )
        skipped = sum(counter.on(p) for p in paths)
        skipped_requests = sum(item.path in paths for item in script)
        g.measure(
            f"middleware runs on {skipped_requests} requests to {{{shown}}}",
            skipped,
            target="0",
            ok=skipped == 0,
            hint="Compare scope['path'] with the paths before calling the wrapped middleware.",
        )
        expected = expected_runs(script, paths)
        others = {path: counter.on(path) for path in expected}
        g.measure(
            f"middleware runs on the other paths (skipping {{{shown}}})",
            sum(others.values()),
            target=f"= {sum(expected.values())} (every middleware, once per request)",
            ok=others == dict(expected),
            hint="Every other request goes through the wrapped middleware, exactly once.",
        )


OTHER_PATHS: Final = frozenset({"/ready", "/api/notes"})
