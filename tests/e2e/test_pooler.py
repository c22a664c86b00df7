"""The message path and routing end to end with the database behind PgBouncer in transaction mode."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest_asyncio

from server.config import Settings
from tests.e2e.routing_support import online_agent, waiting_customer
from tests.pgbouncer import PgBouncer
from tests.support import RunningServer, agent, agent_token, customer, start_server


@pytest_asyncio.fixture
async def pooled(settings: Settings, pgbouncer: PgBouncer) -> AsyncIterator[RunningServer]:
    database = settings.database_url.rsplit("/", 1)[1]
    running = await start_server(
        settings.with_overrides(
            database_url=pgbouncer.dsn(database), db_pooler="transaction", routing_tick_seconds=0.1
        )
    )
    yield running
    await running.stop()


async def test_messages_flow_in_order_through_the_pooler(pooled: RunningServer) -> None:
    _, token = await agent_token(pooled, name="Robin")
    staff = await agent(pooled.url, token)
    customers = [await customer(pooled.url) for _ in range(6)]
    conversations = []
    for cust in customers:
        await cust.ok("session")
        started = await cust.ok("start_conversation", {"name": "Casey"})
        conversations.append(started["conversation"]["id"])
    for conversation_id in conversations:
        await staff.ok("join", {"conversation_id": conversation_id})

    async def chat(cust, conversation_id: str) -> list[int]:
        acks = []
        for n in range(5):
            payload = {
                "conversation_id": conversation_id,
                "client_id": f"c-{n}",
                "body": f"line {n}",
            }
            acks.append(await cust.ok("send_message", payload))
        again = await cust.ok(
            "send_message",
            {"conversation_id": conversation_id, "client_id": "c-0", "body": "line 0"},
        )
        assert again["duplicate"] is True and again["seq"] == 1
        return [a["seq"] for a in acks]

    # Six conversations write at once over a pool of four server connections.
    seqs = await asyncio.gather(
        *(chat(c, cid) for c, cid in zip(customers, conversations, strict=True))
    )
    assert seqs == [[1, 2, 3, 4, 5]] * 6
    received = await staff.log.wait_for("message", count=30)
    for conversation_id in conversations:
        mine = [m for m in received if m["conversation_id"] == conversation_id]
        assert [m["seq"] for m in mine] == [1, 2, 3, 4, 5]
    reply = await staff.ok(
        "send_message", {"conversation_id": conversations[0], "client_id": "a-1", "body": "Hi"}
    )
    assert reply["seq"] == 6
    history = await customers[0].ok("history", {"conversation_id": conversations[0]})
    assert [m["body"] for m in history["messages"]] == [f"line {n}" for n in range(5)] + ["Hi"]
    for cust in customers:
        await cust.close()
    await staff.close()


async def test_routing_assigns_through_the_pooler(pooled: RunningServer) -> None:
    waiting = [await waiting_customer(pooled, name=f"C{i}") for i in range(4)]
    _, _, staff = await online_agent(pooled, "Robin", max_chats=3)
    assigned = await staff.log.wait_for("assigned", count=3)
    ids = [c for _, c in waiting]
    assert {e["conversation"]["id"] for e in assigned} == set(ids[:3])
    await staff.ok("resolve", {"conversation_id": ids[0]})
    fourth = await staff.log.wait_for("assigned", count=4)
    assert fourth[3]["conversation"]["id"] == ids[3]
    for cust, _ in waiting:
        await cust.close()
    await staff.close()
