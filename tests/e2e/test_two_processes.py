"""Two real `parley serve` processes sharing PostgreSQL and Redis behave as one server."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest_asyncio

from server.config import Settings
from tests.support import ServerProcess, agent, create_agent, customer, login, spawn_server


@pytest_asyncio.fixture
async def pair(settings: Settings) -> AsyncIterator[tuple[ServerProcess, ServerProcess]]:
    first, second = await asyncio.gather(spawn_server(settings), spawn_server(settings))
    yield first, second
    first.stop()
    second.stop()


async def _agent_login(
    settings: Settings, url: str, name: str, teams: tuple[str, ...] = ("support",)
) -> tuple[str, str]:
    email = f"{name.lower()}@example.test"
    agent_id = await create_agent(settings.database_url, email=email, name=name, teams=teams)
    return str(agent_id), await login(url, email)


async def test_everything_works_across_two_processes(
    settings: Settings, pair: tuple[ServerProcess, ServerProcess]
) -> None:
    one, two = pair
    cust = await customer(one.url)
    token = (await cust.ok("session"))["visitor_token"]
    conversation_id = (await cust.ok("start_conversation", {"name": "Casey"}))["conversation"]["id"]
    agent_id, agent_tok = await _agent_login(settings, two.url, "Robin")
    _watcher_id, watcher_tok = await _agent_login(settings, one.url, "Watcher", teams=())
    watcher = await agent(one.url, watcher_tok)
    staff = await agent(two.url, agent_tok)
    await watcher.log.wait_for(
        "presence", lambda e: e["agent_id"] == agent_id and e["status"] == "online"
    )
    await staff.ok("join", {"conversation_id": conversation_id})

    # Messages both ways, in order, with sequence numbers.
    for i in range(10):
        sender, who = (cust, "c") if i % 2 == 0 else (staff, "a")
        await sender.ok(
            "send_message",
            {"conversation_id": conversation_id, "client_id": f"{who}{i}", "body": f"#{i}"},
        )
    for side in (cust, staff):
        got = await side.log.wait_for("message", count=10)
        assert [m["seq"] for m in got] == list(range(1, 11))
        assert [m["body"] for m in got] == [f"#{i}" for i in range(10)]

    # Typing and receipts cross processes too.
    await cust.ok("typing", {"conversation_id": conversation_id, "typing": True})
    await staff.log.wait_for("typing", lambda e: e["typing"])
    await cust.ok("mark_read", {"conversation_id": conversation_id, "seq": 10})
    await staff.log.wait_for(
        "receipt", lambda e: e["reader_kind"] == "customer" and e["read_seq"] == 10
    )

    # Idempotency holds whichever process the retry lands on.
    payload = {"conversation_id": conversation_id, "client_id": "retry-1", "body": "once"}
    first = await cust.ok("send_message", payload)
    await cust.close()
    moved = await customer(two.url, token)
    again = await moved.ok("send_message", payload)
    assert again["message_id"] == first["message_id"] and again["duplicate"] is True

    # The customer drops and comes back on the other process: nothing lost, nothing twice.
    for i in range(5):
        await staff.ok(
            "send_message",
            {"conversation_id": conversation_id, "client_id": f"late{i}", "body": f"late{i}"},
        )
    await moved.ok("resume", {"conversation_id": conversation_id, "after_seq": 10})
    # One more message orders after the replay on this socket: nothing is missing or doubled.
    await staff.ok(
        "send_message", {"conversation_id": conversation_id, "client_id": "end", "body": "end"}
    )
    await moved.log.wait_for("message", lambda m: m["client_id"] == "end")
    assert [m["seq"] for m in moved.log.of("message")] == list(range(11, 18))

    await staff.close()
    await watcher.log.wait_for(
        "presence", lambda e: e["agent_id"] == agent_id and e["status"] == "offline"
    )
    await moved.close()
    await watcher.close()


async def test_presence_of_a_killed_process_expires(
    settings: Settings, pair: tuple[ServerProcess, ServerProcess]
) -> None:
    one, two = pair
    agent_id, token = await _agent_login(settings, two.url, "Doomed")
    _, watcher_tok = await _agent_login(settings, one.url, "Watcher", teams=())
    watcher = await agent(one.url, watcher_tok)
    doomed = await agent(two.url, token)
    await watcher.log.wait_for(
        "presence", lambda e: e["agent_id"] == agent_id and e["status"] == "online"
    )
    two.kill()  # no disconnect, no goodbye: its heartbeats just stop
    offline = await watcher.log.wait_for(
        "presence", lambda e: e["agent_id"] == agent_id and e["status"] == "offline", timeout=10
    )
    assert len(offline) == 1
    await asyncio.sleep(1)
    assert (
        len(
            [
                e
                for e in watcher.log.of("presence")
                if e["agent_id"] == agent_id and e["status"] == "offline"
            ]
        )
        == 1
    )
    await watcher.close()
    with contextlib.suppress(Exception):
        await doomed.close()
