"""The independent client's walk through the message guarantees of docs/protocol.md: gaps where
notes sit, resume catching up exactly once while others post, paging both ways, and the
customer and agent events the other walks do not send."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import uuid

import aiohttp

from server.core.models import AgentRole
from tests.e2e.wire_client import WireClient, check_message, error_of, rest, send, sign_in
from tests.support import Servers

SUGGESTION = {"conversation_id", "request_id", "text", "citations", "found", "mode", "error"}


async def test_customers_see_gaps_and_a_resume_catches_up_exactly_once(servers: Servers) -> None:
    server = await servers.start()
    visitor = await WireClient.open(server.url, "/customer", {})
    token = (await visitor.ok("session"))["visitor_token"]
    conversation_id = (await visitor.ok("start_conversation"))["conversation"]["id"]
    staff = await WireClient.open(
        server.url, "/agent", {"token": (await sign_in(server, AgentRole.ADMIN))["token"]}
    )
    await staff.ok("join", {"conversation_id": conversation_id})
    await visitor.ok("send_message", send(conversation_id, "c1", "Hello"))
    await staff.ok("send_message", send(conversation_id, "n2", "a note", visibility="internal"))
    await staff.ok("send_message", send(conversation_id, "a3", "Hi there"))
    await staff.ok("send_message", send(conversation_id, "n4", "another", visibility="internal"))
    # The customer's stream skips the notes' seqs: 1, 3. Staff get all four, in order.
    assert [m["seq"] for m in await visitor.wait("message", 2)] == [1, 3]
    assert [m["seq"] for m in await staff.wait("message", 4)] == [1, 2, 3, 4]
    await visitor.close()

    # Back after a reconnect, from the last seq it had: nothing to replay, the notes skipped.
    back = await WireClient.open(server.url, "/customer", {"token": token})
    resumed = await back.ok("resume", {"conversation_id": conversation_id, "after_seq": 3})
    assert resumed["conversation"]["last_seq"] == 4
    # The newest message is a note: the customer was given up to 3, below last_seq.
    assert resumed["delivered_up_to"] == 3 and back.events["message"] == []
    await back.close()

    # A new socket resumes from 0 while an agent posts 30 messages at once: every public
    # message arrives exactly once, in seq order, the replay and the live ones together.
    tab = await WireClient.open(server.url, "/customer", {"token": token})
    posts = [
        staff.ok("send_message", send(conversation_id, f"burst-{n}", f"message {n}"))
        for n in range(30)
    ]
    acks = await asyncio.gather(
        tab.ok("resume", {"conversation_id": conversation_id, "after_seq": 0}), *posts
    )
    resumed, sent = acks[0], acks[1:]
    assert sorted(a["seq"] for a in sent) == list(range(5, 35))
    given = [m["seq"] for m in tab.events["message"]]
    assert given == sorted(set(given)) and given[:2] == [1, 3]
    assert resumed["delivered_up_to"] in given
    # What went live after the ack follows without a gap or a duplicate.
    last = await staff.ok("send_message", send(conversation_id, "last", "the end"))
    messages = await tab.wait("message", 2 + 30 + 1)
    assert [m["seq"] for m in messages] == [1, 3, *range(5, 35), last["seq"]]
    for message in messages:
        check_message(message)
        assert message["visibility"] == "public"
    await tab.close()
    await staff.close()


async def test_history_pages_both_ways_as_documented(servers: Servers) -> None:
    server = await servers.start()
    visitor = await WireClient.open(server.url, "/customer", {})
    conversation_id = (await visitor.ok("start_conversation"))["conversation"]["id"]
    for n in range(1, 8):
        await visitor.ok("send_message", send(conversation_id, f"m{n}", f"message {n}"))

    async def page(**query: object) -> tuple[list[int], bool]:
        data = await visitor.ok("history", {"conversation_id": conversation_id, **query})
        assert set(data) == {"messages", "has_more"}
        return [m["seq"] for m in data["messages"]], data["has_more"]

    assert await page() == ([1, 2, 3, 4, 5, 6, 7], False)
    # Backward: the `limit` messages just before before_seq (the newest without it).
    assert await page(limit=3) == ([5, 6, 7], True)
    assert await page(before_seq=5, limit=3) == ([2, 3, 4], True)
    assert await page(before_seq=2, limit=3) == ([1], False)
    # Forward from after_seq; with before_seq as an upper bound.
    assert await page(after_seq=2, limit=3) == ([3, 4, 5], True)
    assert await page(after_seq=5, limit=3) == ([6, 7], False)
    assert await page(after_seq=2, before_seq=5) == ([3, 4], False)
    # A full page says has_more even when the next one is empty.
    assert await page(after_seq=4, limit=3) == ([5, 6, 7], True)
    assert await page(after_seq=7, limit=3) == ([], False)
    for bad in ({"limit": 0}, {"limit": 201}, {"after_seq": -1}, {"before_seq": 2**63}):
        await visitor.error("history", {"conversation_id": conversation_id, **bad}, "bad_request")
    # `list_conversations` filters by status, newest first.
    second = (await visitor.ok("start_conversation", {"new": True}))["conversation"]["id"]
    listed = await visitor.ok("list_conversations", {})
    assert [c["id"] for c in listed["conversations"]] == [second, conversation_id]
    solved = await visitor.ok("mark_solved", {"conversation_id": second})
    assert set(solved) == {"conversation"} and solved["conversation"]["status"] == "resolved"
    again = await visitor.ok("mark_solved", {"conversation_id": second})  # idempotent
    assert again["conversation"]["status"] == "resolved"
    resolved = await visitor.ok("list_conversations", {"status": "resolved"})
    assert [c["id"] for c in resolved["conversations"]] == [second]
    opened = await visitor.ok("list_conversations", {"status": "open", "limit": 1})
    assert [c["id"] for c in opened["conversations"]] == [conversation_id]
    await visitor.close()


async def test_mark_solved_suggest_reply_and_requests_for_what_one_may_not_see(
    servers: Servers,
) -> None:
    server = await servers.start()
    signed_in = await sign_in(server)
    staff = await WireClient.open(server.url, "/agent", {"token": signed_in["token"]})
    visitor = await WireClient.open(server.url, "/customer", {})
    conversation_id = (await visitor.ok("start_conversation"))["conversation"]["id"]
    await staff.wait("assigned")
    await visitor.ok("send_message", send(conversation_id, "c1", "Where is my parcel?"))
    # A person has the conversation: the customer should tell them.
    await visitor.error("mark_solved", {"conversation_id": conversation_id}, "conflict")
    # `request_human` when a person has it already changes nothing.
    asked = await visitor.ok("request_human", {"conversation_id": conversation_id})
    assert asked["queue"] is None and asked["conversation"]["owner"] == "human"

    requested = await staff.ok("suggest_reply", {"conversation_id": conversation_id})
    assert set(requested) == {"request_id"}
    [draft] = await staff.wait("reply_suggestion")
    assert set(draft) - {"usage"} == SUGGESTION
    assert draft["request_id"] == requested["request_id"]
    assert draft["conversation_id"] == conversation_id
    # An empty help center has nothing on it.
    assert (draft["found"], draft["text"], draft["citations"]) == (False, "", [])
    assert draft["error"] is None
    # It is never posted.
    history = await staff.ok("history", {"conversation_id": conversation_id})
    assert [m["seq"] for m in history["messages"]] == [1]

    # Conversations the caller may not see are not_found, whatever the request.
    other = await WireClient.open(server.url, "/customer", {})
    stranger = str(uuid.uuid4())
    for event in (
        "resume",
        "history",
        "mark_delivered",
        "mark_read",
        "request_human",
        "mark_solved",
    ):
        payload = {"conversation_id": conversation_id}
        if event.startswith("mark_") and event != "mark_solved":
            payload["seq"] = 1
        await other.error(event, payload, "not_found")
        await other.error(event, {**payload, "conversation_id": stranger}, "not_found")
    colleague = await WireClient.open(
        server.url, "/agent", {"token": (await sign_in(server))["token"]}
    )
    for event in ("join", "history", "resolve", "reopen", "suggest_reply", "unassign"):
        await colleague.error(event, {"conversation_id": conversation_id}, "not_found")
    await colleague.error(
        "typing", {"conversation_id": conversation_id, "typing": True}, "not_found"
    )
    for socket in (visitor, other, staff, colleague):
        await socket.close()


async def test_the_follow_acks_name_who_is_helping(servers: Servers) -> None:
    server = await servers.start()
    visitor = await WireClient.open(server.url, "/customer", {})
    started = await visitor.ok("start_conversation")
    conversation_id = started["conversation"]["id"]
    # Nobody yet: the acks that follow a conversation say so with a null.
    assert started["conversation"]["assigned_agent"] is None
    signed_in = await sign_in(server)
    staff = await WireClient.open(server.url, "/agent", {"token": signed_in["token"]})
    await staff.wait("assigned")
    helping = {"id": signed_in["agent"]["id"], "display_name": "Robin", "avatar_url": None}
    resumed = await visitor.ok("resume", {"conversation_id": conversation_id})
    assert resumed["conversation"]["assigned_agent"] == helping
    joined = await staff.ok("join", {"conversation_id": conversation_id})
    assert joined["conversation"]["assigned_agent"] == helping
    # Elsewhere a conversation carries no such field.
    listed = await visitor.ok("list_conversations", {})
    assert "assigned_agent" not in listed["conversations"][0]
    resolved = await staff.ok("resolve", {"conversation_id": conversation_id})
    assert "assigned_agent" not in resolved["conversation"]
    await visitor.close()
    await staff.close()


async def test_limits_and_routing_reasons_a_client_meets(servers: Servers) -> None:
    server = await servers.start(
        rate_conversations_per_visitor="1/600", rate_uploads_per_visitor="1/3600"
    )
    api = f"{server.url}/api/v1"
    visitor = await WireClient.open(server.url, "/customer", {})
    token = (await visitor.ok("session"))["visitor_token"]
    conversation_id = (await visitor.ok("start_conversation"))["conversation"]["id"]
    eleven = [str(uuid.uuid4()) for _ in range(11)]
    await visitor.error(
        "send_message",
        send(conversation_id, "x1", "hi", attachment_ids=eleven),
        "validation_failed",
    )
    refused = await visitor.error("start_conversation", {"new": True}, "rate_limited")
    assert refused["details"] == {"retry_after": 600, "limit": "conversations_per_visitor"}
    # Returning to the open conversation never counts as a new one.
    again = await visitor.ok("start_conversation", {})
    assert again["created"] is False and again["conversation"]["id"] == conversation_id
    deep: dict[str, object] = {}
    for _ in range(17):
        deep = {"a": deep}
    await visitor.error("start_conversation", {"attributes": deep}, "bad_request")

    messages = f"{api}/conversations/{conversation_id}/messages"
    status, _, body = await rest(
        "POST", messages, token, {"client_id": "n", "body": "x", "visibility": "internal"}
    )
    error_of(status, body, 403, "forbidden")
    for url, code in (
        (f"{messages}?limit=201", "validation_failed"),
        (f"{messages}?after_seq={2**62 + 1}", "validation_failed"),
        (f"{messages}?limit=ten", "bad_request"),
    ):
        status, _, body = await rest("GET", url, token)
        error_of(status, body, 400 if code == "bad_request" else 422, code)
    form = aiohttp.FormData()
    form.add_field("conversation_id", conversation_id)
    form.add_field("file", b"abc", filename="a.txt", content_type="text/plain")
    for expected in (201, 429):
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                f"{api}/attachments", data=form, headers={"Authorization": f"Bearer {token}"}
            ) as response,
        ):
            assert response.status == expected
            if expected == 429:
                body = await response.json()
                assert body["error"]["details"] == {
                    "retry_after": 3600,
                    "limit": "uploads_per_visitor",
                }
                assert response.headers["Retry-After"] == "3600"
    status, _, body = await rest("GET", f"{api}/openapi.json")
    assert status == 200 and body["openapi"].startswith("3.1")

    # Routing reasons the visitor sees: a priority change, a transfer to a team.
    signed_in = await sign_in(server, AgentRole.ADMIN)
    staff = await WireClient.open(server.url, "/agent", {"token": signed_in["token"]})
    await staff.wait("assigned")
    await staff.error("transfer", {"conversation_id": conversation_id}, "validation_failed")
    changed = await staff.ok(
        "set_priority", {"conversation_id": conversation_id, "priority": "high"}
    )
    assert changed["conversation"]["priority"] == 1
    status, _, body = await rest("GET", f"{api}/admin/teams", signed_in["token"])
    support = body["data"]["teams"][0]
    await staff.ok("transfer", {"conversation_id": conversation_id, "to_team_id": support["id"]})

    def seen(reason: str) -> bool:
        return any(u["reason"] == reason for u in visitor.events["conversation_updated"])

    while not seen("transferred"):
        await visitor.wait("conversation_updated", len(visitor.events["conversation_updated"]) + 1)
    updates = {u["reason"]: u for u in visitor.events["conversation_updated"]}
    assert set(updates["priority"]) == {"conversation", "reason"}
    assert updates["priority"]["conversation"]["priority"] == 1
    assert set(updates["transferred"]) == {"conversation", "reason", "team"}
    assert updates["transferred"]["team"] == {"id": support["id"], "name": "Support"}
    await visitor.close()
    await staff.close()


async def test_identify_switches_a_socket_to_the_customer_who_holds_the_user(
    servers: Servers,
) -> None:
    secret = "identity-secret-0123456789"
    server = await servers.start(identity_secret=secret)

    def proof(user_id: str) -> str:
        return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()

    laptop = await WireClient.open(server.url, "/customer", {})
    laptop_id = (await laptop.ok("identify", {"user_id": "42", "hash": proof("42")}))["customer_id"]
    laptop_conversation = (await laptop.ok("start_conversation"))["conversation"]["id"]
    phone = await WireClient.open(server.url, "/customer", {})
    before = await phone.ok("session")
    phone_conversation = (await phone.ok("start_conversation"))["conversation"]["id"]
    for bad in ({"user_id": "42", "hash": "zz"}, {"user_id": "x" * 201, "hash": proof("x")}):
        await phone.error("identify", bad, "bad_request")

    switched = await phone.ok("identify", {"user_id": "42", "hash": proof("42")})
    assert switched["switched"] is True and switched["customer_id"] == laptop_id
    assert switched["identity_verified"] is True
    assert switched["visitor_token"] != before["visitor_token"]
    # The socket follows nothing of the old visitor's any more, and hears the new one's room.
    typing = {"conversation_id": phone_conversation, "typing": True}
    await phone.error("typing", typing, "not_found")
    await phone.error("history", {"conversation_id": phone_conversation}, "not_found")
    staff = await WireClient.open(
        server.url, "/agent", {"token": (await sign_in(server, AgentRole.ADMIN))["token"]}
    )
    seen = len(phone.events["conversation_updated"])
    await staff.ok("resolve", {"conversation_id": phone_conversation})
    await staff.ok("resolve", {"conversation_id": laptop_conversation})
    [update] = (await phone.wait("conversation_updated", seen + 1))[seen:]
    assert (update["reason"], update["conversation"]["id"]) == ("resolved", laptop_conversation)
    listed = await phone.ok("list_conversations", {})
    assert [c["id"] for c in listed["conversations"]] == [laptop_conversation]

    # A socket bound to one user that proves another becomes a new customer.
    other = await phone.ok("identify", {"user_id": "43", "hash": proof("43")})
    assert other["switched"] is True
    assert other["customer_id"] not in (laptop_id, before["customer_id"])
    assert (await phone.ok("list_conversations", {}))["conversations"] == []
    for socket in (laptop, phone, staff):
        await socket.close()


async def test_a_retry_over_any_connection_process_or_rest_is_the_original(
    servers: Servers,
) -> None:
    first, second = await servers.start(), await servers.start()
    visitor = await WireClient.open(first.url, "/customer", {})
    token = (await visitor.ok("session"))["visitor_token"]
    conversation_id = (await visitor.ok("start_conversation"))["conversation"]["id"]
    payload = send(conversation_id, "same-id", "Is my order shipped?")
    original = await visitor.ok("send_message", payload)
    assert original["duplicate"] is False

    elsewhere = await WireClient.open(second.url, "/customer", {"token": token})
    retried = await elsewhere.ok("send_message", payload)
    assert retried == {**original, "duplicate": True}
    status, _, body = await rest(
        "POST",
        f"{second.url}/api/v1/conversations/{conversation_id}/messages",
        token,
        {"client_id": "same-id", "body": "Is my order shipped?"},
    )
    assert status == 200 and body["data"] == {**original, "duplicate": True}
    # Nothing new was stored or broadcast: the next message is the next seq, seen once each.
    after = await elsewhere.ok("send_message", send(conversation_id, "next", "Hello?"))
    assert after["seq"] == original["seq"] + 1
    assert [m["seq"] for m in await visitor.wait("message", 2)] == [1, 2]
    await visitor.close()
    await elsewhere.close()
