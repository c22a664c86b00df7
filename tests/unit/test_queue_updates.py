"""Coalesced, self-pacing queue announcements (no I/O: the announcer is a recording stub)."""

from __future__ import annotations

import asyncio
import time
import uuid

from server.actions.queue_updates import QueueUpdates

TEAM, OTHER = uuid.uuid4(), uuid.uuid4()


class Announcer:
    def __init__(self, cost: float = 0.0, fail_first: bool = False) -> None:
        self.calls: list[tuple[uuid.UUID, float]] = []
        self.cost = cost
        self.fail_first = fail_first

    async def __call__(self, team_id: uuid.UUID) -> None:
        self.calls.append((team_id, time.monotonic()))
        if self.fail_first and len(self.calls) == 1:
            raise RuntimeError("boom")
        if self.cost:
            busy_until = time.monotonic() + self.cost  # an expensive announcement: loop busy
            while time.monotonic() < busy_until:
                pass


async def _settle(updates: QueueUpdates, seconds: float) -> None:
    await asyncio.sleep(seconds)
    await updates.close()


async def test_a_burst_of_changes_is_one_announcement_per_team() -> None:
    updates, announce = QueueUpdates(0.02), Announcer()
    updates.bind(announce)
    for _ in range(100):
        updates.changed(TEAM)
    updates.changed(OTHER)
    await _settle(updates, 0.15)
    assert sorted(t for t, _ in announce.calls) == sorted([TEAM, OTHER])


async def test_a_change_during_an_announcement_is_announced_after_it() -> None:
    updates = QueueUpdates(0.02, pacing=0.0)
    seen: list[int] = []

    async def announce(team_id: uuid.UUID) -> None:
        seen.append(len(seen))
        if len(seen) == 1:
            updates.changed(team_id)  # the line changed again while it was being read
        await asyncio.sleep(0.01)

    updates.bind(announce)
    updates.changed(TEAM)
    await _settle(updates, 0.2)
    assert seen == [0, 1]


async def test_an_expensive_announcement_spaces_out_the_next() -> None:
    updates, announce = QueueUpdates(0.01, pacing=4.0), Announcer(cost=0.05)
    updates.bind(announce)
    updates.changed(TEAM)
    await asyncio.sleep(0.03)  # the first flush runs (and costs 0.05 s)
    updates.changed(TEAM)
    await _settle(updates, 0.5)
    assert len(announce.calls) == 2
    gap = announce.calls[1][1] - announce.calls[0][1]
    assert gap >= 0.05 + 4 * 0.05 - 0.01  # its own cost, then four times that before the next


async def test_pacing_never_waits_longer_than_the_cap() -> None:
    updates, announce = QueueUpdates(0.01, pacing=100.0, max_delay_seconds=0.1), Announcer(cost=0.02)
    updates.bind(announce)
    updates.changed(TEAM)
    await asyncio.sleep(0.05)
    updates.changed(TEAM)
    await _settle(updates, 0.4)
    assert len(announce.calls) == 2
    assert announce.calls[1][1] - announce.calls[0][1] < 0.3


async def test_a_failed_announcement_does_not_stop_the_next() -> None:
    updates, announce = QueueUpdates(0.01), Announcer(fail_first=True)
    updates.bind(announce)
    updates.changed(TEAM)
    await asyncio.sleep(0.05)
    updates.changed(TEAM)
    await _settle(updates, 0.1)
    assert len(announce.calls) == 2


async def test_a_quiet_line_is_announced_at_once_and_a_busy_one_per_interval() -> None:
    updates, announce = QueueUpdates(0.3), Announcer()
    updates.bind(announce)
    began = time.monotonic()
    updates.changed(TEAM)
    await asyncio.sleep(0.05)
    assert len(announce.calls) == 1 and announce.calls[0][1] - began < 0.05  # no timer to wait for
    updates.changed(TEAM)
    updates.changed(TEAM)
    await asyncio.sleep(0.1)
    assert len(announce.calls) == 1  # changes right after an announcement wait for the interval
    await _settle(updates, 0.3)
    assert len(announce.calls) == 2 and announce.calls[1][1] - announce.calls[0][1] >= 0.29
