"""Conversation status changes are broadcast to both sides; customers cannot change status,
and a customer writing into a resolved conversation reopens it."""

from __future__ import annotations

from tests.support import RunningServer, agent, agent_token, customer


async def test_resolve_and_reopen_are_broadcast(server: RunningServer) -> None:
    cust = await customer(server.url)
    conversation_id = (await cust.ok("start_conversation", {}))["conversation"]["id"]
    _, token = await agent_token(server)
    staff = await agent(server.url, token)
    await staff.ok("join", {"conversation_id": conversation_id})

    resolved = await staff.ok("resolve", {"conversation_id": conversation_id})
    assert resolved["conversation"]["status"] == "resolved"
    update = await cust.log.wait_for("conversation_updated", lambda e: e["reason"] == "resolved")
    assert update[0]["conversation"]["id"] == conversation_id
    await staff.log.wait_for("conversation_updated", lambda e: e["reason"] == "resolved")
    # Resolving twice is a harmless no-op, and customers cannot change status.
    assert (await staff.ok("resolve", {"conversation_id": conversation_id}))["conversation"][
        "status"
    ] == "resolved"
    refused = await cust.call("reopen", {"conversation_id": conversation_id})
    assert refused["ok"] is False

    # The customer writes again: the conversation reopens and everyone hears about it.
    await cust.ok(
        "send_message",
        {"conversation_id": conversation_id, "client_id": "again", "body": "one more thing"},
    )
    reopened = await staff.log.wait_for("conversation_updated", lambda e: e["reason"] == "reopened")
    assert reopened[0]["conversation"]["status"] == "open"

    await staff.ok("resolve", {"conversation_id": conversation_id})
    again = await staff.ok("reopen", {"conversation_id": conversation_id})
    assert again["conversation"]["status"] == "open"
    await cust.log.wait_for("conversation_updated", lambda e: e["reason"] == "reopened", count=2)
    await cust.close()
    await staff.close()
