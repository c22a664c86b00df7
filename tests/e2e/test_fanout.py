"""Targeted fan-out between two real `parley serve` processes: a process hears only the rooms its
sockets are in, and a socket that starts following a conversation while messages pour in from
the other process gets every one of them once, in order."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from prometheus_client.parser import text_string_to_metric_families
from redis.asyncio import Redis

from server.config import Settings
from server.core.models import AgentRole
from tests.support import (
    Client,
    ServerProcess,
    agent,
    create_agent,
    customer,
    eventually,
    login,
    spawn_server,
)

TOKEN = "fanout-metrics-token-0123"


@pytest_asyncio.fixture
async def pair(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[ServerProcess, ServerProcess]]:
    monkeypatch.setenv("PARLEY_METRICS_TOKEN", TOKEN)
    # One customer posts a long burst here; the per-socket limits are another test's business.
    monkeypatch.setenv("PARLEY_RATE_MESSAGES_PER_SOCKET", "10000/60")
    monkeypatch.setenv("PARLEY_RATE_MESSAGES_PER_CONVERSATION", "10000/60")
    first, second = await asyncio.gather(spawn_server(settings), spawn_server(settings))
    yield first, second
    first.stop()
    second.stop()


async def _conversation_messages(process: ServerProcess) -> float:
    """Other processes' publishes to conversation rooms this process received and decoded."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with aiohttp.ClientSession(headers=headers) as http:
        async with http.get(f"{process.url}/metrics") as response:
            assert response.status == 200
            text = await response.text()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "parley_fanout_room_messages" and sample.labels["room"] == "conv":
                return sample.value
    return 0.0


async def _staff(settings: Settings, url: str, name: str) -> Client:
    """An admin without a team: may follow any conversation, takes no routing traffic."""
    email = f"{name.lower()}@example.test"
    await create_agent(
        settings.database_url, email=email, name=name, role=AgentRole.ADMIN, teams=()
    )
    return await agent(url, await login(url, email))


async def _send(client: Client, conversation_id: str, client_id: str) -> None:
    await client.ok(
        "send_message",
        {"conversation_id": conversation_id, "client_id": client_id, "body": client_id},
    )


async def test_a_process_receives_nothing_of_conversations_it_has_no_socket_in(
    settings: Settings, pair: tuple[ServerProcess, ServerProcess]
) -> None:
    one, two = pair
    # Conversation "here" lives on process one only; "across" has its agent on process two.
    here_customer = await customer(one.url)
    here = (await here_customer.ok("start_conversation", {"name": "Here"}))["conversation"]["id"]
    across_customer = await customer(one.url)
    started = await across_customer.ok("start_conversation", {"name": "Across"})
    across = started["conversation"]["id"]
    watcher = await _staff(settings, one.url, "Watcher")
    await watcher.ok("join", {"conversation_id": here})
    staff = await _staff(settings, two.url, "Robin")
    await staff.ok("join", {"conversation_id": across})

    before = await _conversation_messages(two)
    for n in range(30):
        await _send(here_customer, here, f"here-{n}")
    await watcher.log.wait_for("message", count=30)
    # Published after the 30 by the same process, so Redis hands it to process two after them
    # had they been sent there: once it arrived, process two has decoded all it ever will.
    await _send(across_customer, across, "across-0")
    got = await staff.log.wait_for("message", count=1)
    assert [m["body"] for m in got] == ["across-0"]
    # One publish carried the message to both sides of the conversation.
    assert await _conversation_messages(two) - before == 1
    assert staff.log.of("message") == got

    # Each process holds a room's channel while one of its sockets is in the room.
    redis = Redis.from_url(settings.redis_url)
    channel = f"{settings.redis_prefix}socketio#conv:{across}"

    async def subscribers(expected: int) -> bool:
        [(_, count)] = await redis.pubsub_shardnumsub(channel)
        return count == expected

    try:
        await eventually(lambda: subscribers(2))
        await staff.ok("leave", {"conversation_id": across})
        await eventually(lambda: subscribers(1))
        await across_customer.close()
        await eventually(lambda: subscribers(0))
    finally:
        await redis.aclose()
    for client in (here_customer, watcher, staff):
        await client.close()


async def test_following_while_the_other_process_posts_misses_and_repeats_nothing(
    settings: Settings, pair: tuple[ServerProcess, ServerProcess]
) -> None:
    one, two = pair
    cust = await customer(one.url)
    conversation_id = (await cust.ok("start_conversation", {"name": "Casey"}))["conversation"]["id"]
    # Process two has no other socket in the conversation: each join subscribes its channel
    # anew and each leave drops it, while process one keeps posting.
    staff = await _staff(settings, two.url, "Robin")
    total = 150

    async def post() -> None:
        for n in range(total):
            await _send(cust, conversation_id, f"m-{n}")

    poster = asyncio.create_task(post())
    joins = 0
    while not poster.done() or joins == 0:
        received = staff.log.of("message")
        after = received[-1]["seq"] if received else 0
        await staff.ok("join", {"conversation_id": conversation_id, "after_seq": after})
        joins += 1
        # Stay for a few live messages, then stop following.
        await staff.log.wait_for("message", count=min(len(staff.log.of("message")) + 3, total))
        await staff.ok("leave", {"conversation_id": conversation_id})
    await poster
    received = staff.log.of("message")
    after = received[-1]["seq"] if received else 0
    await staff.ok("join", {"conversation_id": conversation_id, "after_seq": after})
    got = await staff.log.wait_for("message", count=total)
    assert joins >= 3
    assert [m["seq"] for m in got] == list(range(1, total + 1))
    assert [m["body"] for m in got] == [f"m-{n}" for n in range(total)]
    # Nothing more comes: a later message is the next one after the last.
    await _send(cust, conversation_id, "last")
    got = await staff.log.wait_for("message", count=total + 1)
    assert [m["seq"] for m in got] == list(range(1, total + 2))

    await cust.close()
    await staff.close()


async def test_an_event_for_several_rooms_reaches_each_socket_of_another_process_once(
    settings: Settings, pair: tuple[ServerProcess, ServerProcess]
) -> None:
    one, two = pair
    cust = await customer(one.url)
    conversation_id = (await cust.ok("start_conversation", {"name": "Casey"}))["conversation"]["id"]
    watcher = await _staff(settings, one.url, "Watcher")
    await watcher.ok("join", {"conversation_id": conversation_id})
    # On process two, in three of the update's rooms: the conversation's, `admins`, `agents`.
    staff = await _staff(settings, two.url, "Robin")
    await staff.ok("join", {"conversation_id": conversation_id})
    # Resolved on process one: one update to the customer's room and to the conversation's,
    # `admins` and `agents` rooms, one publish on each of their channels.
    await watcher.ok("resolve", {"conversation_id": conversation_id})

    def resolved(event: dict[str, Any]) -> bool:
        return bool(event["conversation"]["status"] == "resolved")

    await staff.log.wait_for("conversation_updated", resolved)
    await cust.log.wait_for("conversation_updated", resolved)
    # Published after the update by the same process: once it is here, any second copy of the
    # update would be too.
    await watcher.ok("typing", {"conversation_id": conversation_id, "typing": True})
    await staff.log.wait_for("typing", lambda e: e["typing"])
    await cust.log.wait_for("typing", lambda e: e["typing"])
    assert len([e for e in staff.log.of("conversation_updated") if resolved(e)]) == 1
    assert len([e for e in cust.log.of("conversation_updated") if resolved(e)]) == 1

    for client in (cust, watcher, staff):
        await client.close()
