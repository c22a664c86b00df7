"""The event-loop lag probe (server/observability/loop_lag.py) records how long a turn held it up."""

from __future__ import annotations

import asyncio
import time

from server.observability.loop_lag import LoopLagProbe


def _hold_the_loop(seconds: float) -> None:
    """One long turn: a callback that keeps the loop for `seconds`."""
    until = time.perf_counter() + seconds
    while time.perf_counter() < until:
        pass


async def test_a_long_turn_is_recorded_as_the_timers_lateness() -> None:
    lateness: list[float] = []
    fired = asyncio.Event()

    def observe(seconds: float) -> None:
        lateness.append(seconds)
        if seconds > 0.05:
            fired.set()

    probe = LoopLagProbe(observe, interval=0.01)
    probe.start()
    try:
        asyncio.get_running_loop().call_soon(_hold_the_loop, 0.12)
        await asyncio.wait_for(fired.wait(), 5)
    finally:
        probe.stop()
    late = [seconds for seconds in lateness if seconds > 0.05]
    assert len(late) == 1  # one stall, one late firing; the timer re-armed after it
    assert 0.1 <= late[0] < 1.0  # due 10 ms in, it ran after the 120 ms turn
    assert probe.longest == late[0]
