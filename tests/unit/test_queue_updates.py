"""Coalesced, self-pacing queue announcements, on a virtual clock (no I/O, no real waiting:
the announcer is a recording stub and an expensive announcement spends virtual time)."""

from __future__ import annotations

import uuid

from server.actions.queue_updates import QueueUpdates
from tests.support import VirtualClock

TEAM, OTHER = uuid.uuid4(), uuid.uuid4()


class Announcer:
    def __init__(self, clock: VirtualClock, cost: float = 0.0, fail_first: bool = False) -> None:
        self.clock = clock
        self.calls: list[tuple[uuid.UUID, float]] = []
        self.cost = cost
        self.fail_first = fail_first

    async def __call__(self, team_id: uuid.UUID) -> None:
        self.calls.append((team_id, self.clock.now()))
        if self.fail_first and len(self.calls) == 1:
            raise RuntimeError("boom")
        self.clock.spend(self.cost)  # an expensive announcement: the loop is busy meanwhile

    @property
    def times(self) -> list[float]:
        return [at for _, at in self.calls]


def _updates(interval: float, **options: float) -> tuple[QueueUpdates, VirtualClock]:
    clock = VirtualClock()
    return QueueUpdates(interval, clock=clock, **options), clock  # type: ignore[arg-type]


async def test_a_burst_of_changes_is_one_announcement_per_team() -> None:
    updates, clock = _updates(0.02)
    announce = Announcer(clock)
    updates.bind(announce)
    for _ in range(100):
        updates.changed(TEAM)
    updates.changed(OTHER)
    await clock.advance(1.0)
    assert sorted(t for t, _ in announce.calls) == sorted([TEAM, OTHER])
    await updates.close()


async def test_a_change_during_an_announcement_is_announced_after_it() -> None:
    updates, clock = _updates(0.02, pacing=0.0)
    seen: list[float] = []

    async def announce(team_id: uuid.UUID) -> None:
        seen.append(clock.now())
        if len(seen) == 1:
            updates.changed(team_id)  # the line changed again while it was being read
        clock.spend(0.01)

    updates.bind(announce)
    updates.changed(TEAM)
    await clock.advance(1.0)
    assert seen == [0.0, 0.03]  # again, once the interval after the first one has passed
    await updates.close()


async def test_an_expensive_announcement_spaces_out_the_next() -> None:
    updates, clock = _updates(0.01, pacing=4.0)
    announce = Announcer(clock, cost=0.05)
    updates.bind(announce)
    updates.changed(TEAM)
    await clock.advance(0.0)  # the first flush runs at once (and costs 0.05 s)
    updates.changed(TEAM)
    await clock.advance(1.0)
    # Its own cost, then four times that before the next.
    assert announce.times == [0.0, 0.05 + 4 * 0.05]
    await updates.close()


async def test_pacing_never_waits_longer_than_the_cap() -> None:
    updates, clock = _updates(0.01, pacing=100.0, max_delay_seconds=0.1)
    announce = Announcer(clock, cost=0.02)
    updates.bind(announce)
    updates.changed(TEAM)
    await clock.advance(0.0)
    updates.changed(TEAM)
    await clock.advance(1.0)
    assert announce.times == [0.0, 0.02 + 0.1]  # not 100 x 0.02
    await updates.close()


async def test_a_failed_announcement_does_not_stop_the_next() -> None:
    updates, clock = _updates(0.01)
    announce = Announcer(clock, fail_first=True)
    updates.bind(announce)
    updates.changed(TEAM)
    await clock.advance(0.05)
    updates.changed(TEAM)
    await clock.advance(0.05)
    assert len(announce.calls) == 2
    await updates.close()


async def test_a_quiet_line_is_announced_at_once_and_a_busy_one_per_interval() -> None:
    updates, clock = _updates(0.3)
    announce = Announcer(clock)
    updates.bind(announce)
    updates.changed(TEAM)
    await clock.advance(0.0)
    assert announce.times == [0.0]  # no timer to wait for
    await clock.advance(0.1)
    updates.changed(TEAM)
    updates.changed(TEAM)
    await clock.advance(0.1)
    assert announce.times == [0.0]  # changes right after an announcement wait for the interval
    await clock.advance(0.2)
    assert announce.times == [0.0, 0.3]
    await updates.close()
