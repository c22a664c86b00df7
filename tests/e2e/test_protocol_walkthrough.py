"""An independent client's walk through docs/protocol.md: raw Socket.IO frames and plain HTTP,
written from the document alone, asserting the exact payloads it promises."""

from __future__ import annotations

import asyncio
import json
import uuid

from server.core.models import AgentRole
from tests.e2e.wire_client import (
    QUEUE,
    RECEIPT,
    SEND_ACK,
    TYPING,
    Refused,
    WireClient,
    check_conversation,
    check_message,
    is_uuid,
    rest,
    send,
    sign_in,
)
from tests.support import Servers


async def test_a_visitor_starts_a_conversation_and_sends_messages(servers: Servers) -> None:
    server = await servers.start()
    visitor = await WireClient.open(server.url, "/customer", {})
    # Keep-alive and packet size as documented: library defaults, 1,000,000 bytes.
    assert visitor.handshake["pingInterval"] == 25_000
    assert visitor.handshake["pingTimeout"] == 20_000
    assert visitor.handshake["maxPayload"] == 1_000_000
    session = await visitor.ok("session")
    assert set(session) == {"customer_id", "visitor_token", "assistant"}
    assert is_uuid(session["customer_id"]) and isinstance(session["visitor_token"], str)
    assert set(session["assistant"]) == {"name", "avatar_url"}

    started = await visitor.ok("start_conversation", {"name": "Casey", "page_url": "https://x/"})
    assert set(started) == {"conversation", "delivered_up_to", "created", "queue"}
    assert started["created"] is True and started["delivered_up_to"] == 0
    conversation = started["conversation"]
    check_conversation(conversation)
    assert conversation["metadata"] == {"page_url": "https://x/"}
    assert conversation["customer_id"] == session["customer_id"]
    # Nobody online: it waits in line, and the ack says where.
    assert set(started["queue"]) == QUEUE and started["queue"]["position"] == 1
    assert started["queue"]["conversation_id"] == conversation["id"]
    created, queued = await visitor.wait("conversation_updated", 2)
    assert created["reason"] == "created" and set(created) == {"conversation", "reason"}
    check_conversation(created["conversation"])
    # Taken before it joins its team's line; "queued" follows with the team.
    assert (created["conversation"]["team_id"], created["conversation"]["waiting"]) == (None, False)
    assert queued["reason"] == "queued" and queued["conversation"]["waiting"] is True
    assert queued["conversation"]["team_id"] == started["queue"]["team_id"]
    # The line's first announcement repeats the place the ack gave.
    [place] = await visitor.wait("queue")
    assert place == started["queue"]

    conversation_id = conversation["id"]
    client_id = str(uuid.uuid4())
    ack = await visitor.ok("send_message", send(conversation_id, client_id, "My invoice"))
    assert set(ack) == SEND_ACK
    assert is_uuid(ack["message_id"]) and ack["conversation_id"] == conversation_id
    assert ack["seq"] == 1 and ack["client_id"] == client_id and ack["duplicate"] is False
    assert ack["created_at"].endswith("+00:00")

    # The sender's own socket follows the conversation, so it gets its message too.
    message = (await visitor.wait("message"))[0]
    check_message(message)
    assert message["id"] == ack["message_id"] and message["client_id"] == client_id
    assert message["sender_kind"] == "customer" and message["sender_name"] == "Casey"
    assert message["sender_id"] == session["customer_id"] and message["body"] == "My invoice"

    again = await visitor.ok("send_message", send(conversation_id, client_id, "My invoice"))
    assert again == {**ack, "duplicate": True}
    # No event for the retry: the next message is the next one this socket sees.
    later = await visitor.ok("send_message", send(conversation_id, str(uuid.uuid4()), "Hello?"))
    assert later["seq"] == 2
    messages = await visitor.wait("message", 2)
    assert [m["seq"] for m in messages] == [1, 2]

    listed = await visitor.ok("list_conversations", {"limit": 5})
    assert set(listed) == {"conversations"} and len(listed["conversations"]) == 1
    page = await visitor.ok("history", {"conversation_id": conversation_id, "limit": 1})
    assert set(page) == {"messages", "has_more"} and page["has_more"] is True
    assert [m["seq"] for m in page["messages"]] == [2]
    assert await visitor.ok("leave", {"conversation_id": conversation_id}) is None
    await visitor.close()


async def test_documented_error_acks(servers: Servers) -> None:
    server = await servers.start()
    visitor = await WireClient.open(server.url, "/customer", {})
    conversation_id = (await visitor.ok("start_conversation"))["conversation"]["id"]
    stranger = str(uuid.uuid4())

    message = (await visitor.error("xyz", {}, "bad_request"))["message"]
    assert message == "unknown event 'xyz'"
    await visitor.error("resolve", {"conversation_id": conversation_id}, "bad_request")
    await visitor.error("history", "not an object", "bad_request")
    limit = await visitor.error("list_conversations", {"limit": 500}, "bad_request")
    assert limit["message"] == "Expected `int` <= 100 - at `$.limit`"
    await visitor.error("session", {"extra": 1}, "unknown_field")
    await visitor.error("history", {"conversation_id": stranger}, "not_found")
    await visitor.error("resume", {"conversation_id": stranger}, "not_found")
    await visitor.error("send_message", send(stranger, str(uuid.uuid4()), "hello"), "not_found")
    # Typing needs the socket to follow the conversation.
    second = await WireClient.open(
        server.url, "/customer", {"token": (await visitor.ok("session"))["visitor_token"]}
    )
    await second.error("typing", {"conversation_id": conversation_id, "typing": True}, "not_found")
    await second.close()

    internal = send(conversation_id, str(uuid.uuid4()), "note", visibility="internal")
    await visitor.error("send_message", internal, "forbidden")
    empty = await visitor.error(
        "send_message", send(conversation_id, str(uuid.uuid4()), "   "), "validation_failed"
    )
    assert "details" not in empty
    too_long = await visitor.error(
        "send_message", send(conversation_id, str(uuid.uuid4()), "x" * 5001), "too_large"
    )
    assert too_long["details"] == {"max_length": 5000}

    used = str(uuid.uuid4())
    await visitor.ok("send_message", send(conversation_id, used, "first"))
    other = (await visitor.ok("start_conversation", {"new": True}))["conversation"]["id"]
    assert other != conversation_id
    await visitor.error("send_message", send(other, used, "first"), "conflict")
    # Every failure left the connection usable.
    assert "customer_id" in await visitor.ok("session")
    await visitor.close()


async def test_typing_and_read_receipts_reach_the_other_side(servers: Servers) -> None:
    server = await servers.start()
    visitor = await WireClient.open(server.url, "/customer", {})
    customer_id = (await visitor.ok("session"))["customer_id"]
    conversation_id = (await visitor.ok("start_conversation", {"name": "Casey"}))["conversation"][
        "id"
    ]
    await visitor.ok("send_message", send(conversation_id, str(uuid.uuid4()), "hi"))
    signed_in = await sign_in(server, AgentRole.ADMIN)
    staff = await WireClient.open(server.url, "/agent", {"token": signed_in["token"]})
    joined = await staff.ok("join", {"conversation_id": conversation_id})
    assert set(joined) == {"conversation", "delivered_up_to"} and joined["delivered_up_to"] == 1
    assert [m["seq"] for m in await staff.wait("message")] == [1]

    assert await visitor.ok("typing", {"conversation_id": conversation_id, "typing": True}) is None
    shown = (await staff.wait("typing"))[0]
    assert set(shown) == TYPING
    assert shown == {
        "conversation_id": conversation_id,
        "sender_kind": "customer",
        "sender_id": customer_id,
        "sender_name": "Casey",
        "typing": True,
        "internal": False,
        "expires_in": server.settings.typing_timeout_seconds,
    }
    # A repeated true only keeps it alive; false is broadcast. Never echoed to the typist.
    await visitor.ok("typing", {"conversation_id": conversation_id, "typing": True})
    await visitor.ok("typing", {"conversation_id": conversation_id, "typing": False})
    typing = await staff.wait("typing", 2)
    assert [t["typing"] for t in typing] == [True, False]
    assert visitor.events["typing"] == []

    cursors = await staff.ok("mark_read", {"conversation_id": conversation_id, "seq": 999})
    assert cursors == {"delivered_seq": 1, "read_seq": 1}  # capped at last_seq
    receipt = (await visitor.wait("receipt"))[0]
    assert set(receipt) == RECEIPT
    assert receipt["reader_kind"] == "agent" and receipt["reader_id"] == signed_in["agent"]["id"]
    assert (receipt["delivered_seq"], receipt["read_seq"]) == (1, 1)
    # The reader's own socket gets it too; the same point again moves nothing.
    assert len(await staff.wait("receipt")) == 1
    await staff.ok("mark_read", {"conversation_id": conversation_id, "seq": 1})
    await staff.ok("mark_delivered", {"conversation_id": conversation_id, "seq": 0})
    await visitor.ok("send_message", send(conversation_id, str(uuid.uuid4()), "again"))
    await staff.wait("message", 2)
    assert len(visitor.events["receipt"]) == 1 and len(staff.events["receipt"]) == 1
    await visitor.close()
    await staff.close()


async def test_a_visitor_reconnects_and_resumes_where_it_left(servers: Servers) -> None:
    server = await servers.start()
    visitor = await WireClient.open(server.url, "/customer", {})
    token = (await visitor.ok("session"))["visitor_token"]
    conversation_id = (await visitor.ok("start_conversation"))["conversation"]["id"]
    for n in range(3):
        await visitor.ok("send_message", send(conversation_id, f"c{n}", f"message {n}"))
    await visitor.close()

    back = await WireClient.open(server.url, "/customer", {"token": token})
    assert (await back.ok("session"))["visitor_token"] == token
    resumed = await back.ok("resume", {"conversation_id": conversation_id, "after_seq": 1})
    assert set(resumed) == {"conversation", "delivered_up_to", "queue"}
    assert resumed["delivered_up_to"] == 3
    # The replay arrived before the ack.
    assert [m["seq"] for m in back.events["message"]] == [2, 3]
    check_conversation(resumed["conversation"])

    # REST with the same visitor token.
    status, _, me = await rest("GET", f"{server.url}/api/v1/me", token)
    assert status == 200 and me["data"] == {
        "kind": "customer",
        "customer_id": resumed["conversation"]["customer_id"],
    }
    base = f"{server.url}/api/v1/conversations/{conversation_id}/messages"
    status, _, page = await rest("GET", f"{base}?after_seq=1&limit=1", token)
    assert status == 200 and set(page["data"]) == {"messages", "has_more", "first_seq", "last_seq"}
    assert (page["data"]["first_seq"], page["data"]["last_seq"]) == (2, 2)
    body = {"client_id": "rest-1", "body": "over REST"}
    status, _, posted = await rest("POST", base, token, body)
    assert status == 201 and set(posted["data"]) == SEND_ACK and posted["data"]["seq"] == 4
    status, _, retried = await rest("POST", base, token, body)
    assert status == 200 and retried["data"] == {**posted["data"], "duplicate": True}
    assert [m["seq"] for m in await back.wait("message", 3)] == [2, 3, 4]

    stranger = f"{server.url}/api/v1/conversations/{uuid.uuid4()}"
    status, _, missing = await rest("GET", stranger, token)
    assert status == 404 and missing["error"]["code"] == "not_found"
    status, _, anonymous = await rest("GET", f"{server.url}/api/v1/me")
    assert status == 401 and anonymous["error"]["code"] == "unauthorized"
    status, _, wrong = await rest("DELETE", f"{server.url}/api/v1/me", token)
    assert status == 405 and wrong["error"] == {
        "code": "bad_request",
        "message": "Method Not Allowed",
    }
    status, _, invalid = await rest("POST", base, token, {"client_id": 5})
    assert status == 422 and invalid["error"]["code"] == "validation_failed"
    status, _, unknown = await rest("POST", base, token, {"client_id": "x", "extra": 1})
    assert status == 400 and unknown["error"]["code"] == "unknown_field"
    await back.close()


async def test_an_agent_signs_in_is_assigned_joins_replies_and_resolves(servers: Servers) -> None:
    server = await servers.start()
    signed_in = await sign_in(server)
    agent_id = signed_in["agent"]["id"]
    staff = await WireClient.open(server.url, "/agent", {"token": signed_in["token"]})
    me = await staff.ok("whoami")
    assert set(me) == {
        "agent_id", "display_name", "role", "team_ids", "presence", "load", "capacity",
    }  # fmt: skip
    assert me["agent_id"] == agent_id and me["role"] == "agent" and me["load"] == 0
    assert set(me["presence"]) == {"status", "since"} and me["presence"]["status"] == "online"

    visitor = await WireClient.open(server.url, "/customer", {})
    started = await visitor.ok("start_conversation", {"name": "Casey"})
    conversation_id = started["conversation"]["id"]
    assigned = (await staff.wait("assigned"))[0]
    assert set(assigned) == {"conversation", "reason", "agent", "customer"}
    assert assigned["reason"] == "assigned"
    assert assigned["agent"] == {"id": agent_id, "display_name": "Robin"}
    check_conversation(assigned["conversation"])
    assert assigned["conversation"]["assigned_agent_id"] == agent_id

    joined = await staff.ok("join", {"conversation_id": conversation_id, "after_seq": 0})
    assert set(joined) == {"conversation", "delivered_up_to"}
    reply = await staff.ok("send_message", send(conversation_id, "a1", "How can I help?"))
    message = (await visitor.wait("message"))[0]
    check_message(message)
    assert message["seq"] == reply["seq"] and message["sender_kind"] == "agent"
    assert message["sender_id"] == agent_id and message["sender_name"] == "Robin"
    note = await staff.ok(
        "send_message", send(conversation_id, "a2", "private", visibility="internal")
    )
    staff_messages = await staff.wait("message", 2)
    assert [m["seq"] for m in staff_messages] == [reply["seq"], note["seq"]]
    assert staff_messages[0] == message  # one public message, the same on both sides
    assert staff_messages[1]["visibility"] == "internal"

    before = len(visitor.events["conversation_updated"])
    resolved = await staff.ok("resolve", {"conversation_id": conversation_id})
    assert set(resolved) == {"conversation"} and resolved["conversation"]["status"] == "resolved"
    updates = await visitor.wait("conversation_updated", before + 1)
    assert updates[-1]["reason"] == "resolved"
    assert updates[-1]["conversation"]["status"] == "resolved"
    # Resolving again changes nothing and sends nothing.
    assert (await staff.ok("resolve", {"conversation_id": conversation_id}))["conversation"][
        "status"
    ] == "resolved"
    # The next update the visitor gets is the reopening's.
    reopened = await staff.ok("reopen", {"conversation_id": conversation_id})
    assert reopened["conversation"]["status"] == "open"
    updates = await visitor.wait("conversation_updated", before + 2)
    assert [u["reason"] for u in updates[before:]][:2] == ["resolved", "reopened"]
    # The agent sits in the conversation's, its own and its team's rooms: each update once.

    async def reopened_seen() -> list[str]:
        while "reopened" not in (
            reasons := [u["reason"] for u in staff.events["conversation_updated"]]
        ):
            await staff.wait("conversation_updated", len(reasons) + 1)
        return reasons

    assert (await reopened_seen()).count("resolved") == 1
    # The customer never saw the note: its own stream skips that seq.
    assert [m["seq"] for m in visitor.events["message"]] == [reply["seq"]]
    await visitor.close()
    await staff.close()


async def test_rate_limits_answer_with_retry_after_and_limit(servers: Servers) -> None:
    server = await servers.start(
        rate_messages_per_socket="2/60",
        rate_rest_per_token="2/60",
        rate_visitors_per_address="1/600",
    )
    visitor = await WireClient.open(server.url, "/customer", {})
    token = (await visitor.ok("session"))["visitor_token"]
    conversation_id = (await visitor.ok("start_conversation"))["conversation"]["id"]
    for n in range(2):
        await visitor.ok("send_message", send(conversation_id, f"m{n}", "hi"))
    refused = await visitor.error("send_message", send(conversation_id, "m2", "hi"), "rate_limited")
    assert set(refused["details"]) == {"retry_after", "limit"}
    assert refused["details"]["limit"] == "messages_per_socket"
    assert type(refused["details"]["retry_after"]) is int and refused["details"]["retry_after"] >= 1
    assert "customer_id" in await visitor.ok("session")  # still usable

    try:
        await WireClient.open(server.url, "/customer", {})
        raise AssertionError("a second new visitor from this address was let in")
    except Refused as refusal:
        payload = refusal.payload
    assert set(payload) == {"message", "data"} and payload["data"]["code"] == "rate_limited"
    assert payload["data"]["details"]["limit"] == "visitors_per_address"
    assert type(payload["data"]["details"]["retry_after"]) is int

    me = f"{server.url}/api/v1/me"
    for _ in range(2):
        assert (await rest("GET", me, token))[0] == 200
    status, headers, body = await rest("GET", me, token)
    assert status == 429 and body["error"]["code"] == "rate_limited"
    assert body["error"]["details"]["limit"] == "rest_per_token"
    assert headers["Retry-After"] == str(body["error"]["details"]["retry_after"])
    await visitor.close()


async def test_connect_refusals_carry_the_documented_codes(servers: Servers) -> None:
    server = await servers.start()
    for namespace, auth, code in (
        ("/agent", {}, "unauthorized"),
        ("/customer", {"token": "p1.garbage"}, "unauthorized"),
        ("/customer", {"token": None, "extra": 1}, "unknown_field"),
        ("/customer", {"token": 5}, "bad_request"),
    ):
        try:
            await WireClient.open(server.url, namespace, auth)
            raise AssertionError(f"{namespace} {auth} was let in")
        except Refused as refusal:
            assert set(refusal.payload) == {"message", "data"}, refusal.payload
            assert refusal.payload["data"]["code"] == code, refusal.payload
            assert refusal.payload["data"]["message"] == refusal.payload["message"]


async def test_frames_the_document_calls_out(servers: Servers) -> None:
    server = await servers.start()
    visitor = await WireClient.open(server.url, "/customer", {})
    token = (await visitor.ok("session"))["visitor_token"]
    assert (await visitor.call_frame('["session",null]'))["ok"] is True  # null counts as {}
    two = await visitor.call_frame('["history",{},{}]')
    assert two["error"] == {
        "code": "bad_request",
        "message": "an event carries one payload object; this one had 2 arguments",
    }
    broken = await visitor.call_frame('["session",{"a":Infinity}]')
    assert broken["error"]["code"] == "bad_request"
    assert broken["error"]["message"].startswith("the event is not valid JSON: ")
    await visitor.error("connect", {}, "bad_request")
    nul = await visitor.error("start_conversation", {"name": "a\u0000b"}, "bad_request")
    assert nul["message"] == "NUL characters and lone surrogates are not allowed - at `$.name`"

    # Two tabs of one visitor that both follow the conversation each get a message once.
    conversation_id = (await visitor.ok("start_conversation"))["conversation"]["id"]
    tab = await WireClient.open(server.url, "/customer", {"token": token})
    await tab.ok("resume", {"conversation_id": conversation_id})
    body = 'Émoji 🎉 </script> "quoted" \\ done'
    ack = await tab.ok("send_message", send(conversation_id, "tab-1", body))
    for socket in (visitor, tab):
        [message] = await socket.wait("message")
        assert message["body"] == body and message["seq"] == ack["seq"]
    await visitor.ok("send_message", send(conversation_id, "tab-2", "second"))
    for socket in (visitor, tab):
        assert [m["seq"] for m in await socket.wait("message", 2)] == [1, 2]
    # An event without an ack id still runs: its message arrives.
    await visitor.ws.send_str(
        f"42/customer,{json.dumps(['send_message', send(conversation_id, 'no-ack', 'quiet')])}"
    )
    assert [m["client_id"] for m in await visitor.wait("message", 3)][-1] == "no-ack"
    # Text that is not JSON, without an ack id: the server closes that connection.
    await tab.ws.send_str('42/customer,["session",{"a":NaN}]')
    assert tab.reader is not None
    await asyncio.wait_for(tab.reader, 5)
    assert tab.closed_by_server
    await tab.close()
    assert "customer_id" in await visitor.ok("session")  # the other connection stays
    await visitor.close()


async def test_posts_at_once_are_numbered_without_gaps_and_a_retry_is_one_message(
    servers: Servers,
) -> None:
    server = await servers.start()
    visitor = await WireClient.open(server.url, "/customer", {})
    token = (await visitor.ok("session"))["visitor_token"]
    conversation_id = (await visitor.ok("start_conversation"))["conversation"]["id"]
    tabs = [await WireClient.open(server.url, "/customer", {"token": token}) for _ in range(6)]
    # Six tabs post at once; two of them send the same client_id (one message, two acks).
    client_ids = ["same", "same", "t2", "t3", "t4", "t5"]
    acks = await asyncio.gather(
        *(
            tab.ok("send_message", send(conversation_id, client_id, f"from {client_id}"))
            for tab, client_id in zip(tabs, client_ids, strict=True)
        )
    )
    assert sorted({a["seq"] for a in acks}) == [1, 2, 3, 4, 5]
    assert len({a["message_id"] for a in acks}) == 5
    first, second = acks[0], acks[1]
    assert first["message_id"] == second["message_id"] and first["seq"] == second["seq"]
    assert sorted([first["duplicate"], second["duplicate"]]) == [False, True]
    assert all(a["duplicate"] is False for a in acks[2:])
    messages = await visitor.wait("message", 5)
    assert [m["seq"] for m in messages] == [1, 2, 3, 4, 5]
    await visitor.ok("send_message", send(conversation_id, "after", "later"))
    assert [m["seq"] for m in await visitor.wait("message", 6)] == [1, 2, 3, 4, 5, 6]
    for tab in (visitor, *tabs):
        await tab.close()
