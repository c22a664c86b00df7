"""The delivery gate's ordering rules, with an in-memory history standing in for PostgreSQL."""

from __future__ import annotations

import asyncio

from server.core.events import SEQ_ADVANCE
from server.realtime.gate import DeliveryGate

NS, SID, CONV = "/customer", "s1", "c1"


class Harness:
    def __init__(self) -> None:
        self.history: list[dict] = []  # what the database holds (visible rows)
        self.sent: list[int] = []
        self.gate = DeliveryGate(self.fetch, self.send, page_size=3)

    async def fetch(self, namespace: str, conversation: str, after: int, limit: int) -> list[dict]:
        await asyncio.sleep(0)
        return [m for m in self.history if m["seq"] > after][:limit]

    async def send(self, namespace: str, sid: str, event: str, data: dict) -> None:
        self.sent.append(data["seq"])

    def commit(self, *seqs: int) -> list[dict]:
        rows = [{"conversation_id": CONV, "seq": s} for s in seqs]
        self.history += rows
        return rows

    async def open(self, after: int) -> None:
        async def subscribe() -> None:
            return None

        await self.gate.open(NS, SID, CONV, after, subscribe)

    async def live(self, row: dict, event: str = "message") -> None:
        await self.gate.offer(NS, SID, event, row)

    async def settle(self) -> None:
        for _ in range(20):
            await asyncio.sleep(0)


async def test_open_replays_everything_after_the_cursor_in_pages() -> None:
    h = Harness()
    h.commit(*range(1, 9))
    await h.open(after=2)
    assert h.sent == [3, 4, 5, 6, 7, 8]


async def test_live_in_order_is_delivered_and_duplicates_are_dropped() -> None:
    h = Harness()
    await h.open(after=0)
    rows = h.commit(1, 2)
    for row in rows + rows:
        await h.live(row)
    assert h.sent == [1, 2]


async def test_out_of_order_live_events_are_put_back_in_order() -> None:
    h = Harness()
    await h.open(after=0)
    one, two, three = h.commit(1, 2, 3)
    await h.live(three)
    await h.live(two)
    await h.live(one)
    await h.settle()
    assert h.sent == [1, 2, 3]


async def test_a_private_note_marker_advances_without_delivery() -> None:
    h = Harness()
    await h.open(after=0)
    h.commit(1)
    await h.live({"conversation_id": CONV, "seq": 1})
    await h.live({"conversation_id": CONV, "seq": 2}, event=SEQ_ADVANCE)  # the note
    h.commit(3)
    await h.live({"conversation_id": CONV, "seq": 3})
    await h.settle()
    assert h.sent == [1, 3]


async def test_events_arriving_during_the_replay_are_held_then_delivered_once() -> None:
    h = Harness()
    h.commit(1, 2, 3, 4)
    opening = asyncio.create_task(h.open(after=0))
    await asyncio.sleep(0)
    late = h.commit(5)[0]
    await h.live({"conversation_id": CONV, "seq": 3})  # also in the replay
    await h.live(late)
    await opening
    await h.settle()
    assert h.sent == [1, 2, 3, 4, 5]


async def test_closed_streams_stop_receiving_ordered_delivery() -> None:
    h = Harness()
    await h.open(after=0)
    h.gate.close(NS, SID)
    assert h.gate.cursor(NS, SID, CONV) is None


async def test_a_held_marker_past_an_invisible_gap_does_not_spin() -> None:
    h = Harness()
    await h.open(after=0)
    h.commit(1)
    await h.live({"conversation_id": CONV, "seq": 1})
    # Notes 2 and 3: only 3's marker arrives (2's was lost); the database shows customers neither.
    fetches = 0
    original = h.fetch

    async def counting(*args):
        nonlocal fetches
        fetches += 1
        return await original(*args)

    h.gate._fetch = counting
    await h.live({"conversation_id": CONV, "seq": 3}, event=SEQ_ADVANCE)
    await h.settle()
    assert fetches <= 3
    h.commit(4)
    await h.live({"conversation_id": CONV, "seq": 4})
    await h.settle()
    assert h.sent == [1, 4]
