"""Customer and agent exchange messages over real sockets; history over REST matches."""

from __future__ import annotations

import uuid

import aiohttp

from tests.support import RunningServer, agent, agent_token, customer


async def _start(server: RunningServer):
    cust = await customer(server.url)
    session = await cust.ok("session")
    started = await cust.ok(
        "start_conversation", {"name": "Casey", "page_url": "https://shop.example/help"}
    )
    return cust, session, started["conversation"]["id"]


async def test_customer_and_agent_exchange_messages_in_order(server: RunningServer) -> None:
    cust, _, conversation_id = await _start(server)
    _, token = await agent_token(server, name="Robin")
    staff = await agent(server.url, token)
    await staff.ok("join", {"conversation_id": conversation_id})

    ack1 = await cust.ok(
        "send_message", {"conversation_id": conversation_id, "client_id": "c-1", "body": "Hello?"}
    )
    ack2 = await staff.ok(
        "send_message",
        {
            "conversation_id": conversation_id,
            "client_id": "a-1",
            "body": "Hi Casey, how can I help?",
        },
    )
    ack3 = await cust.ok(
        "send_message",
        {"conversation_id": conversation_id, "client_id": "c-2", "body": "My invoice is wrong"},
    )
    assert [ack1["seq"], ack2["seq"], ack3["seq"]] == [1, 2, 3]
    assert ack1["duplicate"] is False

    got_by_agent = await staff.log.wait_for("message", count=3)
    got_by_customer = await cust.log.wait_for("message", count=3)
    for received in (got_by_agent, got_by_customer):
        assert [m["seq"] for m in received] == [1, 2, 3]
        assert [m["body"] for m in received] == [
            "Hello?",
            "Hi Casey, how can I help?",
            "My invoice is wrong",
        ]
    assert got_by_customer[1]["sender_kind"] == "agent"
    assert got_by_customer[1]["sender_name"] == "Robin"
    assert got_by_agent[0]["sender_name"] == "Casey"

    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as http:
        async with http.get(f"{server.url}/api/v1/conversations/{conversation_id}/messages") as r:
            history = (await r.json())["data"]
    assert [m["seq"] for m in history["messages"]] == [1, 2, 3]
    assert [m["id"] for m in history["messages"]] == [m["id"] for m in got_by_agent]
    await cust.close()
    await staff.close()


async def test_same_client_id_twice_gives_one_message_and_the_same_ack(
    server: RunningServer,
) -> None:
    cust, _, conversation_id = await _start(server)
    payload = {
        "conversation_id": conversation_id,
        "client_id": str(uuid.uuid4()),
        "body": "only once",
    }
    first = await cust.ok("send_message", payload)
    second = await cust.ok("send_message", payload)
    assert second["message_id"] == first["message_id"]
    assert second["seq"] == first["seq"]
    assert second["duplicate"] is True
    history = await cust.ok("history", {"conversation_id": conversation_id})
    assert [m["body"] for m in history["messages"]] == ["only once"]
    await cust.close()


async def test_private_notes_never_reach_the_customer(server: RunningServer) -> None:
    cust, _, conversation_id = await _start(server)
    _, token = await agent_token(server)
    staff = await agent(server.url, token)
    await staff.ok("join", {"conversation_id": conversation_id})
    await staff.ok(
        "send_message",
        {
            "conversation_id": conversation_id,
            "client_id": "n1",
            "body": "VIP customer, be nice",
            "visibility": "internal",
        },
    )
    await staff.ok(
        "send_message", {"conversation_id": conversation_id, "client_id": "p1", "body": "Hello!"}
    )
    public = await cust.log.wait_for("message")
    assert [m["body"] for m in public] == ["Hello!"]
    assert public[0]["seq"] == 2
    assert cust.log.of("_seq") == []
    notes = await staff.log.wait_for("message", count=2)
    assert notes[0]["visibility"] == "internal"
    history = await cust.ok("history", {"conversation_id": conversation_id})
    assert [m["body"] for m in history["messages"]] == ["Hello!"]
    refused = await cust.call(
        "send_message",
        {
            "conversation_id": conversation_id,
            "client_id": "x",
            "body": "sneaky",
            "visibility": "internal",
        },
    )
    assert refused["ok"] is False and refused["error"]["code"] == "forbidden"
    await cust.close()
    await staff.close()
