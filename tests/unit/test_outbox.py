"""The outbox of an Engine.IO socket (realtime/eio_socket.py) behaves as the unbounded
`asyncio.Queue` it replaces, for what Engine.IO uses of one."""

from __future__ import annotations

import asyncio

import pytest

from server.realtime.eio_socket import Outbox


async def _after_everything_scheduled() -> None:
    """Returns once every callback scheduled before it has run: the event loop runs its
    ready callbacks in order, so a task created now finishes after all of them."""

    async def marker() -> None:
        return None

    await asyncio.create_task(marker())


async def test_items_leave_in_the_order_they_came() -> None:
    outbox = Outbox()
    assert outbox.empty() and outbox.qsize() == 0
    for item in ("a", "b", None):
        await outbox.put(item)
    assert outbox.qsize() == 3
    assert [outbox.get_nowait(), await outbox.get(), outbox.get_nowait()] == ["a", "b", None]
    assert outbox.empty()
    with pytest.raises(asyncio.QueueEmpty):
        outbox.get_nowait()


async def test_a_waiting_get_wakes_on_put_and_each_waiter_gets_one_item() -> None:
    outbox = Outbox()
    first = asyncio.create_task(outbox.get())
    second = asyncio.create_task(outbox.get())
    await _after_everything_scheduled()  # both tasks have reached their wait
    assert outbox._waiting is not None and len(outbox._waiting) == 2
    assert not first.done() and not second.done()
    outbox.put_nowait(1)
    outbox.put_nowait(2)
    assert sorted(await asyncio.gather(first, second)) == [1, 2]
    assert outbox.empty()


async def test_a_cancelled_get_leaves_no_waiter_behind() -> None:
    outbox = Outbox()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(outbox.get(), 0.01)
    outbox.put_nowait("x")
    assert await outbox.get() == "x"


async def test_join_waits_until_every_item_is_done() -> None:
    outbox = Outbox()
    await outbox.join()  # nothing unfinished: at once
    outbox.put_nowait("a")
    outbox.put_nowait("b")
    joined = asyncio.create_task(outbox.join())
    outbox.get_nowait()
    outbox.task_done()
    await _after_everything_scheduled()  # a wake-up from task_done would have run by now
    assert not joined.done()  # one item is still unfinished
    outbox.get_nowait()
    outbox.task_done()
    await joined
    with pytest.raises(ValueError):
        outbox.task_done()
