"""Who may see and do what, over sockets and REST; refusals never close the connection."""

from __future__ import annotations

import time

import aiohttp
import pytest
import socketio

from server.auth.tokens import TokenSigner
from tests.conftest import TEST_SECRET
from tests.support import RunningServer, agent, agent_token, customer


async def _customer_with_conversation(server: RunningServer):
    cust = await customer(server.url)
    token = (await cust.ok("session"))["visitor_token"]
    conversation_id = (await cust.ok("start_conversation", {}))["conversation"]["id"]
    await cust.ok("send_message", {"conversation_id": conversation_id, "client_id": "s", "body": "secret"})
    return cust, token, conversation_id


async def test_a_customer_cannot_read_or_write_another_customers_conversation(server: RunningServer) -> None:
    alice, _, alice_conversation = await _customer_with_conversation(server)
    mallory = await customer(server.url)
    for event, payload in (
        ("resume", {"conversation_id": alice_conversation, "after_seq": 0}),
        ("history", {"conversation_id": alice_conversation}),
        ("send_message", {"conversation_id": alice_conversation, "client_id": "m", "body": "hi"}),
        ("mark_read", {"conversation_id": alice_conversation, "seq": 1}),
        ("typing", {"conversation_id": alice_conversation, "typing": True}),
    ):
        ack = await mallory.call(event, payload)
        assert ack["ok"] is False and ack["error"]["code"] == "not_found", (event, ack)
    assert mallory.log.of("message") == []
    # Still connected and usable after the refusals.
    assert (await mallory.ok("start_conversation", {}))["created"] is True
    history = await alice.ok("history", {"conversation_id": alice_conversation})
    assert [m["body"] for m in history["messages"]] == ["secret"]
    await alice.close()
    await mallory.close()


async def test_an_agent_sees_unassigned_and_joined_conversations_only_via_policy(server: RunningServer) -> None:
    cust, _, conversation_id = await _customer_with_conversation(server)
    _, token = await agent_token(server)
    staff = await agent(server.url, token)
    # Unassigned conversations are visible to agents (they can be picked up).
    history = await staff.ok("history", {"conversation_id": conversation_id})
    assert len(history["messages"]) == 1
    await cust.close()
    await staff.close()


async def test_tokens_cannot_cross_sides_and_bad_tokens_are_refused(server: RunningServer) -> None:
    cust, visitor_token, conversation_id = await _customer_with_conversation(server)
    _, agent_tok = await agent_token(server)

    async def refused(namespace: str, auth: dict) -> str:
        sio = socketio.AsyncClient(reconnection=False)
        reasons: list[object] = []
        sio.on("connect_error", reasons.append, namespace=namespace)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await sio.connect(server.url, namespaces=[namespace], auth=auth, transports=["websocket"], wait_timeout=5)
        assert reasons, "the refusal carries a reason"
        return str(reasons[0])

    assert "agent token is required" in await refused("/agent", {"token": visitor_token})
    assert "visitor token is required" in await refused("/customer", {"token": agent_tok})
    assert "signature" in await refused("/agent", {"token": agent_tok[:-4] + "AAAA"})
    assert "malformed" in await refused("/customer", {"token": "nonsense"})
    assert "bad_request" in await refused("/agent", {"token": 42})
    assert "unknown field" in await refused("/customer", {"token": visitor_token, "role": "admin"})
    await refused("/agent", {})

    signer = TokenSigner(TEST_SECRET)
    expired = signer.issue("agent", __import__("uuid").uuid4(), ttl_seconds=-10)
    assert "expired" in await refused("/agent", {"token": expired})

    async with aiohttp.ClientSession() as http:
        url = f"{server.url}/api/v1/conversations/{conversation_id}/messages"
        async with http.get(url) as r:
            assert r.status == 401 and (await r.json())["error"]["code"] == "unauthorized"
        async with http.get(url, headers={"Authorization": f"Bearer {expired}"}) as r:
            assert r.status == 401
        async with http.get(url, headers={"Authorization": f"Bearer {visitor_token}"}) as r:
            assert r.status == 200  # the owner, over REST
        stranger = (await (await http.post(f"{server.url}/api/v1/visitors")).json())["data"]["visitor_token"]
        async with http.get(url, headers={"Authorization": f"Bearer {stranger}"}) as r:
            assert r.status == 404
        async with http.get(f"{server.url}/api/v1/conversations",
                            headers={"Authorization": f"Bearer {visitor_token}"}) as r:
            body = await r.json()
            assert [c["id"] for c in body["data"]["conversations"]] == [conversation_id]
    await cust.close()


async def test_deactivated_agents_lose_access_at_once(server: RunningServer) -> None:
    import asyncpg

    agent_id, token = await agent_token(server)
    conn = await asyncpg.connect(server.settings.database_url)
    await conn.execute("UPDATE agents SET is_active = false WHERE id = $1", agent_id)
    await conn.close()
    sio = socketio.AsyncClient(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await sio.connect(server.url, namespaces=["/agent"], auth={"token": token}, transports=["websocket"], wait_timeout=5)
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as http:
        async with http.get(f"{server.url}/api/v1/me") as r:
            assert r.status == 401
    assert time.time()
