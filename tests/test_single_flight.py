"""labkit.single_flight: the one implementation of request coalescing (app and async_cached)."""

from __future__ import annotations

import asyncio

import pytest

from labkit.single_flight import SingleFlight


class Loads:
    """A load that counts its runs and waits until released."""

    def __init__(self) -> None:
        self.runs = 0
        self.release = asyncio.Event()

    async def __call__(self, value: str = "v") -> str:
        self.runs += 1
        await self.release.wait()
        return value


def test_concurrent_callers_share_one_load_and_later_callers_load_again() -> None:
    async def scenario() -> tuple[list[str], int, int, int]:
        flight: SingleFlight[str, str] = SingleFlight()
        load = Loads()
        callers = [asyncio.ensure_future(flight.run("k", load)) for _ in range(10)]
        await asyncio.sleep(0)
        assert flight.running() == 1
        load.release.set()
        values = list(await asyncio.gather(*callers))
        assert flight.running() == 0  # forgotten once landed: not a cache
        await flight.run("k", load)
        return values, load.runs, flight.loads, flight.joins

    assert asyncio.run(scenario()) == (["v"] * 10, 2, 2, 9)


def test_keys_do_not_wait_for_each_other() -> None:
    async def scenario() -> int:
        flight: SingleFlight[int, str] = SingleFlight()
        load = Loads()
        callers = [asyncio.ensure_future(flight.run(k, load)) for k in range(3)]
        await asyncio.sleep(0)
        running = flight.running()
        load.release.set()
        await asyncio.gather(*callers)
        return running

    assert asyncio.run(scenario()) == 3


def test_a_failure_reaches_every_caller_and_is_not_kept() -> None:
    attempts = 0

    async def flaky() -> str:
        nonlocal attempts
        attempts += 1
        await asyncio.sleep(0.001)
        if attempts == 1:
            raise ConnectionError("down")
        return "up"

    async def scenario() -> tuple[list[object], str]:
        flight: SingleFlight[str, str] = SingleFlight()
        outcomes = await asyncio.gather(
            *(flight.run("k", flaky) for _ in range(5)), return_exceptions=True
        )
        return list(outcomes), await flight.run("k", flaky)

    outcomes, retried = asyncio.run(scenario())
    assert all(isinstance(o, ConnectionError) for o in outcomes) and len(outcomes) == 5
    assert retried == "up" and attempts == 2


def test_a_cancelled_caller_leaves_the_load_running_for_the_others() -> None:
    async def scenario() -> tuple[str, bool, int]:
        flight: SingleFlight[str, str] = SingleFlight()
        load = Loads()
        first = asyncio.ensure_future(flight.run("k", load))
        second = asyncio.ensure_future(flight.run("k", load))
        await asyncio.sleep(0)
        first.cancel()
        await asyncio.sleep(0)
        load.release.set()
        return await second, first.cancelled(), load.runs

    assert asyncio.run(scenario()) == ("v", True, 1)


def test_hooks_count_loads_and_joins() -> None:
    seen: list[str] = []
    flight: SingleFlight[str, str] = SingleFlight(
        on_load=lambda: seen.append("load"), on_join=lambda: seen.append("join")
    )

    async def scenario() -> None:
        load = Loads()
        callers = [asyncio.ensure_future(flight.run("k", load)) for _ in range(3)]
        await asyncio.sleep(0)
        load.release.set()
        await asyncio.gather(*callers)

    asyncio.run(scenario())
    assert seen == ["load", "join", "join"]


def test_one_flight_serves_several_event_loops() -> None:
    """A future belongs to its loop: a flight left on one loop must not be joined from another
    (a notebook's loop and the private loop check() runs on)."""
    flight: SingleFlight[str, str] = SingleFlight()
    stuck = Loads()
    left: list[asyncio.Future[str]] = []

    async def leave_a_flight_running() -> None:
        left.append(asyncio.ensure_future(flight.run("k", stuck)))
        await asyncio.sleep(0)

    first_loop = asyncio.new_event_loop()
    try:
        first_loop.run_until_complete(leave_a_flight_running())

        async def other() -> str:
            return "other loop"

        assert asyncio.run(flight.run("k", other)) == "other loop"
    finally:
        for task in asyncio.all_tasks(first_loop):
            task.cancel()
        with pytest.raises(asyncio.CancelledError):
            first_loop.run_until_complete(asyncio.gather(*asyncio.all_tasks(first_loop)))
        first_loop.close()
