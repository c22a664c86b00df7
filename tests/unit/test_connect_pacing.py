"""The connect pacer's turns (server/connect_pacing.py) and its setting."""

from __future__ import annotations

import asyncio

import pytest

from server.config import ConfigError, load_settings
from server.connect_pacing import TurnPacer


async def _next_turn() -> None:
    """Returns once the callbacks scheduled before it have run (the next turn)."""
    done = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().call_soon(done.set_result, None)
    await done


class _Turns:
    """Counts event-loop turns: a callback that schedules itself runs once per turn."""

    def __init__(self) -> None:
        self.count = 0
        self._handle: asyncio.Handle | None = None

    def start(self) -> None:
        self._handle = asyncio.get_running_loop().call_soon(self._tick)

    def _tick(self) -> None:
        self.count += 1
        self._handle = asyncio.get_running_loop().call_soon(self._tick)

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()


async def test_starts_past_the_pace_run_in_later_turns_in_order() -> None:
    pacer = TurnPacer(2)
    turns = _Turns()
    turns.start()
    started: list[tuple[int, int]] = []  # (start, the turn it ran in)
    everyone = asyncio.Event()

    def starter(number: int) -> bool:
        started.append((number, turns.count))
        if len(started) == 20:
            everyone.set()
        return True

    for number in range(20):
        pacer.start(lambda number=number: starter(number))
    assert [number for number, _ in started] == [0, 1]  # the turn's room, at once
    assert pacer.waiting == 18

    await asyncio.wait_for(everyone.wait(), 5)
    turns.stop()
    assert [number for number, _ in started] == list(range(20))
    per_turn: dict[int, int] = {}
    for _, turn in started:
        per_turn[turn] = per_turn.get(turn, 0) + 1
    assert sorted(per_turn.values()) == [2] * 10  # ten turns, two each
    assert pacer.most_in_a_turn == 2
    assert pacer.waited == 18
    assert pacer.waiting == 0


async def test_other_callbacks_run_between_the_slices() -> None:
    pacer = TurnPacer(1)
    order: list[str] = []
    for number in range(3):
        pacer.start(lambda number=number: order.append(f"connect {number}") is None)
    loop = asyncio.get_running_loop()
    loop.call_soon(order.append, "live frame")
    waiters = [asyncio.create_task(pacer.turn()) for _ in range(2)]
    await asyncio.gather(*waiters)
    # The first connect at once; the live frame in the next turn, with the second connect
    # (released at that turn's start), not after the whole burst.
    assert order.index("live frame") < order.index("connect 2")
    assert order == ["connect 0", "connect 1", "live frame", "connect 2"]
    assert pacer.most_in_a_turn == 1


async def test_a_start_no_longer_wanted_takes_no_room() -> None:
    pacer = TurnPacer(1)
    started: list[str] = []
    pacer.start(lambda: started.append("first") is None)  # this turn is full
    pacer.start(lambda: False)  # its connection closed while it waited
    pacer.start(lambda: started.append("kept") is None)
    assert pacer.waiting == 2
    await _next_turn()
    assert started == ["first", "kept"]
    assert pacer.waiting == 0


async def test_pace_zero_starts_everything_at_once() -> None:
    pacer = TurnPacer(0)
    started: list[int] = []
    for number in range(100):
        pacer.start(lambda number=number: started.append(number) is None)
    await pacer.turn()
    assert started == list(range(100))
    assert pacer.waited == 0


def test_setting() -> None:
    assert load_settings(environ={}).connect_pace == 16
    assert load_settings(environ={"PARLEY_CONNECT_PACE": "0"}).connect_pace == 0
    with pytest.raises(ConfigError, match="PARLEY_CONNECT_PACE"):
        load_settings(environ={"PARLEY_CONNECT_PACE": "-1"})


async def test_a_start_that_fails_does_not_hold_up_the_ones_behind_it() -> None:
    pacer = TurnPacer(1)
    started: list[str] = []

    def broken() -> bool:
        raise RuntimeError("a handler that could not start")

    pacer.start(lambda: started.append("first") is None)  # this turn is full
    pacer.start(broken)
    pacer.start(lambda: started.append("behind") is None)
    await _next_turn()
    assert started == ["first", "behind"]
    assert pacer.waiting == 0
