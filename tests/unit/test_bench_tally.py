"""The load generator's delivery checks (bench/load.py): what counts as a duplicate, a message
out of order and a straggler, so that a harness run reporting zeros means something."""

from __future__ import annotations

import asyncio

from bench.load import Pair, Tally
from bench.wire import Connection


def _pair() -> Pair:
    return Pair(Connection("/customer"), Connection("/agent"), conversation_id="c1")


async def test_in_order_once_is_clean_and_completes() -> None:
    tally, pair = Tally(expected=2), _pair()
    tally.sending(pair, "a", 0, due=1.0)
    tally.sending(pair, "b", 1, due=1.5)
    tally.heard("a", pair, now=1.010)
    tally.heard("b", pair, now=1.520)
    assert (tally.duplicates, tally.out_of_order, tally.strays) == (0, 0, 0)
    assert [round(ms) for ms in tally.latencies_ms] == [10, 20]
    assert tally.everything_in.is_set()
    assert tally.scheduled == {}


async def test_duplicates_reordering_and_strays_are_counted() -> None:
    tally, pair = Tally(expected=3), _pair()
    for place, client_id in enumerate(["a", "b", "c"]):
        tally.sending(pair, client_id, place, due=1.0)
    tally.heard("b", pair, now=1.1)
    tally.heard("a", pair, now=1.2)  # sent before b, heard after it
    tally.heard("b", pair, now=1.3)  # b again
    tally.heard("z", pair, now=1.4)  # never sent in this point
    tally.heard("c", None, now=1.5)  # a conversation this generator does not know
    assert (tally.duplicates, tally.out_of_order, tally.strays) == (1, 1, 2)
    assert len(tally.latencies_ms) == 2
    assert not tally.everything_in.is_set()
    assert set(tally.scheduled) == {"c"}


async def test_acks_are_counted_by_outcome() -> None:
    tally = Tally()
    loop = asyncio.get_running_loop()
    answers: list[asyncio.Future[object]] = [loop.create_future() for _ in range(3)]
    answers[0].set_result({"ok": True, "data": {"seq": 1}})
    answers[1].set_result({"ok": False, "error": {"code": "too_large", "message": "..."}})
    answers[2].set_exception(ConnectionError("socket closed"))
    for answer in answers:
        tally.answered(answer)
    assert tally.acked == 1
    assert tally.ack_errors == {"too_large": 1, "disconnected": 1}


async def test_stall_after_a_drop_ends_with_the_last_slow_delivery() -> None:
    tally, pair = Tally(expected=4), _pair()
    for place, client_id in enumerate("abcd"):
        tally.sending(pair, client_id, place, due=10.0 + place)
    tally.heard("a", pair, now=10.9)  # slow, but before the drop
    assert tally.stalled_after_drop_ms(slow_ms=50) is None
    tally.dropped_at = 11.0
    tally.heard("b", pair, now=11.5)  # 500 ms late
    tally.heard("c", pair, now=12.2)  # 200 ms late: the last slow one
    tally.heard("d", pair, now=13.01)  # recovered
    assert tally.stalled_after_drop_ms(slow_ms=50) == 1200.0
