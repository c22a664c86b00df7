"""Connect admission's bookkeeping (realtime/admission.py) and its setting."""

from __future__ import annotations

import asyncio

import pytest

from server.config import ConfigError, load_settings
from server.realtime.admission import Admission


async def _after_everything_scheduled() -> None:
    """Returns once every callback scheduled before it has run: the event loop runs its
    ready callbacks in order, so a task created now finishes after all of them."""

    async def marker() -> None:
        return None

    await asyncio.create_task(marker())


async def test_past_the_bound_connects_wait_in_order_and_none_is_turned_away() -> None:
    admission = Admission(2)
    first, second = await admission.enter(), await admission.enter()
    admitted: list[int] = []

    async def connect(number: int) -> None:
        ticket = await admission.enter()
        admitted.append(number)
        ticket.release()

    waiting = [asyncio.create_task(connect(n)) for n in range(5)]
    await _after_everything_scheduled()  # each has reached the semaphore
    assert admission.waiting == 5 and admitted == []
    first.release()
    second.release()
    await asyncio.gather(*waiting)
    assert admitted == [0, 1, 2, 3, 4]
    assert admission.peak == 2 and admission.running == 0 and admission.waited == 5


async def test_a_ticket_released_twice_frees_one_slot() -> None:
    admission = Admission(1)
    ticket = await admission.enter()
    ticket.release()
    ticket.release()  # the socket's close and the handshake's end may both give it back
    again = await admission.enter()
    assert admission.running == 1
    blocked = asyncio.create_task(admission.enter())
    await _after_everything_scheduled()
    assert not blocked.done()  # one slot: a double release did not make it two
    again.release()
    (await blocked).release()


async def test_no_bound_admits_everyone_at_once() -> None:
    admission = Admission(0)
    tickets = [await admission.enter() for _ in range(100)]
    assert admission.running == 100 and admission.waited == 0
    for ticket in tickets:
        ticket.release()
    assert admission.running == 0


def test_the_setting() -> None:
    assert load_settings(environ={}).connect_concurrency == 64
    assert load_settings(environ={"PARLEY_CONNECT_CONCURRENCY": "0"}).connect_concurrency == 0
    with pytest.raises(ConfigError, match="PARLEY_CONNECT_CONCURRENCY"):
        load_settings(environ={"PARLEY_CONNECT_CONCURRENCY": "-1"})
