"""Malformed, unknown, oversize and wrong-typed input: a clear error ack, nothing persisted,
and the connection stays up."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from tests.support import RunningServer, customer

CASES = [
    ("send_message", "not an object", "bad_request"),
    ("send_message", ["a", "list"], "bad_request"),
    (
        "send_message",
        {"conversation_id": "CONV", "client_id": "x", "body": "hi", "admin": True},
        "unknown_field",
    ),
    ("send_message", {"conversation_id": "CONV", "client_id": "x", "body": 42}, "bad_request"),
    (
        "send_message",
        {"conversation_id": "not-a-uuid", "client_id": "x", "body": "hi"},
        "bad_request",
    ),
    ("send_message", {"conversation_id": "CONV", "body": "no client id"}, "bad_request"),
    ("send_message", {"conversation_id": "CONV", "client_id": "", "body": "hi"}, "bad_request"),
    (
        "send_message",
        {"conversation_id": "CONV", "client_id": "x" * 101, "body": "hi"},
        "bad_request",
    ),
    (
        "send_message",
        {"conversation_id": "CONV", "client_id": "big", "body": "x" * 5001},
        "too_large",
    ),
    (
        "send_message",
        {"conversation_id": "CONV", "client_id": "blank", "body": "   "},
        "validation_failed",
    ),
    (
        "send_message",
        {"conversation_id": "CONV", "client_id": "nul", "body": "a\x00b"},
        "bad_request",
    ),
    (
        "send_message",
        {"conversation_id": str(uuid.UUID(int=1)), "client_id": "ghost", "body": "hi"},
        "not_found",
    ),
    (
        "send_message",
        {
            "conversation_id": "CONV",
            "client_id": "att",
            "body": "hi",
            "attachment_ids": [str(uuid.UUID(int=7))],
        },
        "validation_failed",
    ),
    ("typing", {"conversation_id": "CONV", "typing": "yes"}, "bad_request"),
    ("mark_read", {"conversation_id": "CONV", "seq": -1}, "bad_request"),
    ("mark_read", {"conversation_id": "CONV", "seq": "3"}, "bad_request"),
    ("history", {"conversation_id": "CONV", "limit": 100000}, "bad_request"),
    ("resume", {"conversation_id": str(uuid.UUID(int=2)), "after_seq": 0}, "not_found"),
    ("start_conversation", {"email": "not an email"}, "bad_request"),
    ("no_such_event", {}, "bad_request"),
]


@pytest.mark.parametrize(("event", "payload", "code"), CASES)
async def test_bad_payloads_get_a_clear_error_and_change_nothing(
    server: RunningServer, event: str, payload: object, code: str
) -> None:
    cust = await customer(server.url)
    conversation_id = (await cust.ok("start_conversation", {}))["conversation"]["id"]
    if isinstance(payload, dict):
        payload = {k: (conversation_id if v == "CONV" else v) for k, v in payload.items()}
    ack = await cust.call(event, payload)
    assert ack["ok"] is False, ack
    assert ack["error"]["code"] == code, ack
    assert ack["error"]["message"]
    conn = await asyncpg.connect(server.settings.database_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM messages") == 0
        assert (
            await conn.fetchval(
                "SELECT last_seq FROM conversations WHERE id = $1", uuid.UUID(conversation_id)
            )
            == 0
        )
    finally:
        await conn.close()
    # The connection is still up and works.
    sent = await cust.ok(
        "send_message", {"conversation_id": conversation_id, "client_id": "ok", "body": "fine"}
    )
    assert sent["seq"] == 1
    await cust.close()


async def test_a_client_id_reused_in_another_conversation_is_a_conflict(
    server: RunningServer,
) -> None:
    cust = await customer(server.url)
    first = (await cust.ok("start_conversation", {}))["conversation"]["id"]
    second = (await cust.ok("start_conversation", {"new": True}))["conversation"]["id"]
    await cust.ok("send_message", {"conversation_id": first, "client_id": "same", "body": "one"})
    ack = await cust.call(
        "send_message", {"conversation_id": second, "client_id": "same", "body": "two"}
    )
    assert ack["ok"] is False and ack["error"]["code"] == "conflict"
    await cust.close()


async def test_lifecycle_event_names_cannot_be_sent_by_clients(server: RunningServer) -> None:
    cust = await customer(server.url)
    for name in ("disconnect", "connect"):
        ack = await cust.call(name, {})
        assert ack["ok"] is False and ack["error"]["code"] == "bad_request"
    assert (await cust.ok("start_conversation", {}))["created"] is True  # session intact
    await cust.close()


async def test_customers_cannot_fake_private_typing_or_skip_messages(server: RunningServer) -> None:
    from tests.support import agent, agent_token

    cust = await customer(server.url)
    token = (await cust.ok("session"))["visitor_token"]
    conversation_id = (await cust.ok("start_conversation", {}))["conversation"]["id"]
    _, agent_tok = await agent_token(server)
    staff = await agent(server.url, agent_tok)
    await staff.ok("join", {"conversation_id": conversation_id})
    await cust.ok("typing", {"conversation_id": conversation_id, "typing": True, "internal": True})
    shown = await staff.log.wait_for("typing", lambda e: e["typing"])
    assert shown[0]["internal"] is False
    await staff.log.wait_for("typing", lambda e: not e["typing"], timeout=4)  # and it expires

    # A resume claiming a sequence beyond the conversation does not hide later messages.
    await cust.close()
    back = await customer(server.url, token)
    ack = await back.ok("resume", {"conversation_id": conversation_id, "after_seq": 50})
    assert ack["delivered_up_to"] == 0
    await staff.ok(
        "send_message", {"conversation_id": conversation_id, "client_id": "a", "body": "hello"}
    )
    got = await back.log.wait_for("message")
    assert got[0]["seq"] == 1
    await back.close()
    await staff.close()
