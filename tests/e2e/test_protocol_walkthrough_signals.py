"""The independent client's walk, continued: receipts and typing edge rules, limits shared by
sockets and REST, identity rotation, attachments and ended sessions, as docs/protocol.md says."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json

import aiohttp

from server.core.models import AgentRole
from tests.e2e.wire_client import ATTACHMENT, Refused, WireClient, rest, send, sign_in
from tests.support import PASSWORD, Servers

SECRET = "identity-secret-0123456789"


async def test_receipts_and_typing_follow_the_documented_rules(servers: Servers) -> None:
    server = await servers.start()
    visitor = await WireClient.open(server.url, "/customer", {})
    conversation_id = (await visitor.ok("start_conversation", {"name": "Casey"}))["conversation"][
        "id"
    ]
    staff = await WireClient.open(
        server.url, "/agent", {"token": (await sign_in(server, AgentRole.ADMIN))["token"]}
    )
    await staff.ok("join", {"conversation_id": conversation_id})

    # A first seq 0 moves no cursor: no receipt. The first real move is the first receipt.
    zero = await visitor.ok("mark_delivered", {"conversation_id": conversation_id, "seq": 0})
    assert zero == {"delivered_seq": 0, "read_seq": 0}
    await staff.ok("send_message", send(conversation_id, "a1", "Hello"))
    await visitor.wait("message")
    read = await visitor.ok("mark_read", {"conversation_id": conversation_id, "seq": 1})
    assert read == {"delivered_seq": 1, "read_seq": 1}
    receipts = await staff.wait("receipt")
    assert [(r["reader_kind"], r["read_seq"]) for r in receipts] == [("customer", 1)]
    # Forward only: a lower value changes nothing and is answered with the cursors as they are.
    lower = await visitor.ok("mark_delivered", {"conversation_id": conversation_id, "seq": 0})
    assert lower == {"delivered_seq": 1, "read_seq": 1}

    # From a customer, `internal` is ignored; an agent's private-note typing reaches staff only.
    await visitor.ok(
        "typing", {"conversation_id": conversation_id, "typing": True, "internal": True}
    )
    shown = (await staff.wait("typing"))[0]
    assert (shown["sender_kind"], shown["internal"]) == ("customer", False)
    # Without a refresh it stops by itself after expires_in.
    expired = (await staff.wait("typing", 2))[1]
    assert (expired["sender_kind"], expired["typing"]) == ("customer", False)
    second = await WireClient.open(
        server.url, "/agent", {"token": (await sign_in(server, AgentRole.ADMIN))["token"]}
    )
    await second.ok("join", {"conversation_id": conversation_id})
    note = {"conversation_id": conversation_id, "typing": True, "internal": True}
    await staff.ok("typing", note)
    [private] = await second.wait("typing")
    assert (private["sender_kind"], private["internal"]) == ("agent", True)
    # The visitor's next typing event is the agent's public one, not the private one.
    await staff.ok("typing", {"conversation_id": conversation_id, "typing": True})
    [public] = await visitor.wait("typing")
    assert (public["sender_kind"], public["internal"], public["sender_name"]) == (
        "agent",
        False,
        "Robin",
    )
    assert len(await staff.wait("receipt")) == 1
    for socket in (visitor, staff, second):
        await socket.close()


async def test_the_conversation_limit_is_shared_by_sockets_and_rest(servers: Servers) -> None:
    server = await servers.start(rate_messages_per_conversation="3/60")
    visitor = await WireClient.open(server.url, "/customer", {})
    token = (await visitor.ok("session"))["visitor_token"]
    conversation_id = (await visitor.ok("start_conversation"))["conversation"]["id"]
    base = f"{server.url}/api/v1/conversations/{conversation_id}/messages"
    await visitor.ok("send_message", send(conversation_id, "s1", "one"))
    for client_id in ("r1", "r2"):
        assert (await rest("POST", base, token, {"client_id": client_id, "body": "x"}))[0] == 201
    status, headers, body = await rest("POST", base, token, {"client_id": "r3", "body": "x"})
    assert status == 429 and headers["Retry-After"] == str(body["error"]["details"]["retry_after"])
    assert body["error"]["details"]["limit"] == "messages_per_conversation"
    refused = await visitor.error(
        "send_message", send(conversation_id, "s2", "two"), "rate_limited"
    )
    assert refused["details"]["limit"] == "messages_per_conversation"
    # A retry goes through the limits like any post: refused now, answered once allowed.
    status, _, retry = await rest("POST", base, token, {"client_id": "r1", "body": "x"})
    assert status == 429 and retry["error"]["code"] == "rate_limited"

    # Someone who may not see the conversation learns nothing of it, busy or not.
    stranger = await WireClient.open(server.url, "/customer", {})
    await stranger.error("send_message", send(conversation_id, "s1", "hi"), "not_found")
    await stranger.close()

    status, _, large = await rest("POST", base, token, {"client_id": "big", "body": "x" * 300_000})
    assert status == 413 and large["error"]["code"] == "too_large"
    await visitor.close()


async def test_identify_rotates_the_visitor_token(servers: Servers) -> None:
    server = await servers.start(identity_secret=SECRET)
    visitor = await WireClient.open(server.url, "/customer", {})
    old = await visitor.ok("session")
    await visitor.error("identify", {"user_id": "42", "hash": "0" * 64}, "forbidden")
    proof = hmac.new(SECRET.encode(), b"42", hashlib.sha256).hexdigest()
    identified = await visitor.ok("identify", {"user_id": "42", "hash": proof, "name": "Kim"})
    assert set(identified) == {"customer_id", "visitor_token", "identity_verified", "switched"}
    assert identified["customer_id"] == old["customer_id"]
    assert identified["identity_verified"] is True and identified["switched"] is False
    assert identified["visitor_token"] != old["visitor_token"]
    # The socket stays; the old token opens nothing any more, the new one does.
    assert "customer_id" in await visitor.ok("session")
    assert (await rest("GET", f"{server.url}/api/v1/me", old["visitor_token"]))[0] == 401
    try:
        await WireClient.open(server.url, "/customer", {"token": old["visitor_token"]})
        raise AssertionError("a rotated visitor token was let in")
    except Refused as refusal:
        assert refusal.payload["data"]["code"] == "unauthorized"
    again = await WireClient.open(server.url, "/customer", {"token": identified["visitor_token"]})
    assert (await again.ok("session"))["customer_id"] == old["customer_id"]
    # A verified customer may ask for a priority.
    started = await again.ok("start_conversation", {"priority": "urgent"})
    assert started["conversation"]["priority"] == 0
    await again.close()
    await visitor.close()


async def test_an_attachment_travels_with_its_message(servers: Servers) -> None:
    server = await servers.start()
    visitor = await WireClient.open(server.url, "/customer", {})
    token = (await visitor.ok("session"))["visitor_token"]
    conversation_id = (await visitor.ok("start_conversation"))["conversation"]["id"]
    form = aiohttp.FormData()
    form.add_field("conversation_id", conversation_id)
    form.add_field("file", b"hello", filename="../notes.txt", content_type="text/plain")
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{server.url}/api/v1/attachments",
            data=form,
            headers={"Authorization": f"Bearer {token}"},
        ) as response,
    ):
        assert response.status == 201
        attachment = (await response.json())["data"]
    assert set(attachment) == ATTACHMENT and attachment["filename"] == "notes.txt"
    assert attachment["url"].startswith(f"/api/v1/attachments/{attachment['id']}/content?token=")
    ack = await visitor.ok(
        "send_message", send(conversation_id, "f1", "", attachment_ids=[attachment["id"]])
    )
    [message] = await visitor.wait("message")
    assert message["seq"] == ack["seq"] and message["body"] == ""
    [sent] = message["attachments"]
    assert set(sent) == ATTACHMENT and sent["id"] == attachment["id"]
    async with aiohttp.ClientSession() as http, http.get(server.url + sent["url"]) as download:
        assert download.status == 200 and await download.read() == b"hello"
        assert download.headers["Content-Type"].startswith("text/plain")
        assert download.headers["Content-Disposition"].startswith("attachment")
        assert download.headers["Cache-Control"] == "private, max-age=300"
    # Only once: the same attachment in another message is refused.
    reused = send(conversation_id, "f2", "", attachment_ids=[attachment["id"]])
    await visitor.error("send_message", reused, "validation_failed")
    await visitor.close()


async def test_a_password_change_ends_the_agents_sessions(servers: Servers) -> None:
    server = await servers.start()
    signed_in = await sign_in(server)
    staff = await WireClient.open(server.url, "/agent", {"token": signed_in["token"]})
    status, _, body = await rest(
        "POST",
        f"{server.url}/api/v1/me/password",
        signed_in["token"],
        {"current_password": "not it", "new_password": "a much better passphrase"},
    )
    assert status == 403 and body["error"]["details"] == {"field": "current"}
    status, _, body = await rest(
        "POST",
        f"{server.url}/api/v1/me/password",
        signed_in["token"],
        {"current_password": PASSWORD, "new_password": "a much better passphrase"},
    )
    assert status == 200 and set(body["data"]) == {"token", "expires_at"}
    assert await staff.wait("session_ended") == [{"reason": "password_changed"}]
    assert staff.reader is not None
    await staff.reader  # the server disconnects the socket right after
    assert (await rest("GET", f"{server.url}/api/v1/me", signed_in["token"]))[0] == 401
    fresh = await WireClient.open(server.url, "/agent", {"token": body["data"]["token"]})
    assert (await fresh.ok("whoami"))["agent_id"] == signed_in["agent"]["id"]
    await fresh.close()
    await staff.close()


async def test_a_new_socket_follows_nothing_until_it_resumes(servers: Servers) -> None:
    server = await servers.start()
    visitor = await WireClient.open(server.url, "/customer", {})
    token = (await visitor.ok("session"))["visitor_token"]
    conversation_id = (await visitor.ok("start_conversation"))["conversation"]["id"]
    await visitor.ok("send_message", send(conversation_id, "v1", "one"))
    await visitor.close()
    staff = await WireClient.open(
        server.url, "/agent", {"token": (await sign_in(server, AgentRole.ADMIN))["token"]}
    )
    back = await WireClient.open(server.url, "/customer", {"token": token})
    await staff.ok("send_message", send(conversation_id, "a1", "two"))
    # The conversation is the visitor's, so its updates still arrive; its messages do not.
    caught_up = await back.ok("start_conversation", {"after_seq": 1})
    assert caught_up["created"] is False and caught_up["delivered_up_to"] == 2
    assert caught_up["conversation"]["id"] == conversation_id
    assert [m["seq"] for m in back.events["message"]] == [2]  # once, from the replay
    await staff.ok("send_message", send(conversation_id, "a2", "three"))
    assert [m["seq"] for m in await back.wait("message", 2)] == [2, 3]
    assert await back.ok("leave", {"conversation_id": conversation_id}) is None
    await staff.ok("send_message", send(conversation_id, "a3", "four"))
    resumed = await back.ok("resume", {"conversation_id": conversation_id, "after_seq": 3})
    assert resumed["delivered_up_to"] == 4
    assert [m["seq"] for m in back.events["message"]] == [2, 3, 4]
    await back.close()
    await staff.close()


async def test_rest_conventions(servers: Servers) -> None:
    server = await servers.start()
    async with aiohttp.ClientSession() as http:
        mine = "walk-1.a:b_c"
        async with http.get(f"{server.url}/healthz", headers={"X-Request-Id": mine}) as response:
            assert response.status == 200 and await response.json() == {"ok": True}
            assert response.headers["X-Request-Id"] == mine
            assert response.headers["X-Content-Type-Options"] == "nosniff"
            assert response.headers["Server"] == "Parley"
        async with http.get(f"{server.url}/healthz", headers={"X-Request-Id": "no spaces"}) as bad:
            assert len(bad.headers["X-Request-Id"]) == 32
        async with http.get(f"{server.url}/api/v1/auth/methods") as response:
            assert (await response.json())["data"] == {"password": True, "supabase": None}
        settings = f"{server.url}/api/v1/widget/settings"
        async with http.get(settings) as response:
            etag = response.headers["ETag"]
            data = (await response.json())["data"]
        assert data["max_message_length"] == 5000 and data["websocket_only"] is False
        assert data["agents_available"] is False and data["identity_verification"] is False
        async with http.get(settings, headers={"If-None-Match": etag}) as response:
            assert response.status == 304
        async with http.options(
            f"{server.url}/api/v1/visitors",
            headers={"Origin": "https://shop.example", "Access-Control-Request-Method": "POST"},
        ) as response:
            assert response.status == 204
            assert response.headers["Access-Control-Allow-Origin"] in ("*", "https://shop.example")
        login = f"{server.url}/api/v1/auth/login"
        async with http.post(
            login, data="{not json", headers={"Content-Type": "application/json"}
        ) as r:
            assert r.status == 400 and (await r.json())["error"]["code"] == "bad_request"
        async with http.post(login, json={"email": 5, "password": "x"}) as r:
            assert r.status == 422 and (await r.json())["error"]["code"] == "validation_failed"
        async with http.post(f"{server.url}/api/v1/visitors") as r:
            assert r.status == 201
            assert set((await r.json())["data"]) == {"visitor_token", "customer_id"}


async def test_rest_errors_by_the_error_table(servers: Servers) -> None:
    server = await servers.start()
    visitor = await WireClient.open(server.url, "/customer", {})
    token = (await visitor.ok("session"))["visitor_token"]
    conversation_id = (await visitor.ok("start_conversation"))["conversation"]["id"]
    api = f"{server.url}/api/v1"
    messages = f"{api}/conversations/{conversation_id}/messages"
    cases = [
        (f"{messages}?after_seq=x", 400, "bad_request"),  # not an integer
        (f"{messages}?limit=0", 422, "validation_failed"),  # out of range
        (f"{messages}?before_seq=0", 422, "validation_failed"),
        (f"{api}/conversations/{conversation_id}/customer", 403, "forbidden"),  # agents only
        (f"{api}/directory", 403, "forbidden"),
        (f"{api}/conversations/not-a-uuid", 404, "not_found"),
        (f"{api}/attachments/{conversation_id}/content?token=bad", 401, "unauthorized"),
    ]
    for url, status, code in cases:
        got, _, body = await rest("GET", url, token)
        assert (got, body["error"]["code"]) == (status, code), (url, body)
    staff = await sign_in(server)
    for query, status, code in (
        ("status=bogus", 422, "validation_failed"),
        ("assignee=bogus", 422, "validation_failed"),
        ("cursor=zzz", 400, "bad_request"),
        ("q=a%00b", 422, "validation_failed"),
    ):
        got, _, body = await rest("GET", f"{api}/conversations?{query}", staff["token"])
        assert (got, body["error"]["code"]) == (status, code), (query, body)
    status, _, body = await rest("POST", messages, token, {"client_id": "a\u0000"})
    assert status == 422
    assert body["error"]["message"].endswith("- at `$.client_id`")
    await visitor.close()


async def test_deactivation_and_sign_in_throttling(servers: Servers) -> None:
    server = await servers.start()
    admin = await sign_in(server, AgentRole.ADMIN)
    target = await sign_in(server)
    staff = await WireClient.open(server.url, "/agent", {"token": target["token"]})
    status, _, _ = await rest(
        "PATCH",
        f"{server.url}/api/v1/admin/agents/{target['agent']['id']}",
        admin["token"],
        {"is_active": False},
    )
    assert status == 200
    assert await staff.wait("session_ended") == [{"reason": "deactivated"}]
    assert staff.reader is not None
    await staff.reader
    await staff.close()
    login = f"{server.url}/api/v1/auth/login"
    credentials = {"email": target["agent"]["email"], "password": PASSWORD}
    status, _, body = await rest("POST", login, body=credentials)
    assert status == 403 and body["error"]["code"] == "forbidden"

    # Five counted failures lock the account, even for the right password.
    someone = {"email": admin["agent"]["email"], "password": "wrong password"}
    for _ in range(5):
        status, _, body = await rest("POST", login, body=someone)
        assert (status, body["error"]["code"]) == (401, "unauthorized")
    status, headers, body = await rest("POST", login, body={**someone, "password": PASSWORD})
    assert status == 429 and body["error"]["code"] == "rate_limited"
    assert set(body["error"]["details"]) == {"retry_after"}
    assert headers["Retry-After"] == str(body["error"]["details"]["retry_after"])


async def test_the_assistant_greets_and_hands_over_on_request(servers: Servers) -> None:
    server = await servers.start(assistant_mode="when_no_agent", unanswered_seconds=0)
    visitor = await WireClient.open(server.url, "/customer", {})
    session = await visitor.ok("session")
    started = await visitor.ok("start_conversation", {"name": "Casey"})
    conversation = started["conversation"]
    assert conversation["owner"] == "assistant" and started["queue"]["position"] == 1
    # The greeting is the first message, and it arrived before the ack.
    [greeting] = visitor.events["message"]
    assert greeting["seq"] == 1 and greeting["sender_kind"] == "assistant"
    assert greeting["sender_id"] is None
    assert greeting["sender_name"] == session["assistant"]["name"]

    asked = await visitor.ok("request_human", {"conversation_id": conversation["id"]})
    assert set(asked) == {"conversation", "queue"}
    assert asked["conversation"]["owner"] == "queue" and asked["queue"]["position"] == 1
    messages = await visitor.wait("message", 2)
    confirmation = messages[1]
    assert confirmation["sender_kind"] == "assistant"
    assert confirmation["metadata"]["queue"]["position"] == 1
    queue = (await visitor.wait("queue"))[-1]
    assert queue["conversation_id"] == conversation["id"] and queue["position"] == 1
    # Asking again is harmless.
    again = await visitor.ok("request_human", {"conversation_id": conversation["id"]})
    assert again["conversation"]["owner"] == "queue"
    await visitor.close()


async def test_origins_and_websocket_only(servers: Servers) -> None:
    server = await servers.start(allowed_origins=("https://shop.example",), websocket_only=True)
    handshake = f"{server.url}/socket.io/?EIO=4&transport="
    async with aiohttp.ClientSession() as http:
        evil, shop = {"Origin": "https://evil.example"}, {"Origin": "https://shop.example"}
        async with http.get(handshake + "polling", headers=evil) as refused:
            assert refused.status == 400
        async with http.get(handshake + "polling", headers=shop) as polling:
            assert polling.status == 400  # only websocket is accepted
        try:
            await http.ws_connect(handshake + "websocket", headers=evil)
            raise AssertionError("a websocket from an unlisted origin was accepted")
        except aiohttp.WSServerHandshakeError as error:
            assert error.status == 400
        ws = await http.ws_connect(handshake + "websocket", headers=shop)
        assert (await ws.receive_str(timeout=5)).startswith("0{")
        await ws.close()
        preflight = {**evil, "Access-Control-Request-Method": "POST"}
        async with http.options(f"{server.url}/api/v1/visitors", headers=preflight) as response:
            assert response.status == 403


async def test_transport_limits(servers: Servers) -> None:
    server = await servers.start(max_connections_per_address=2)
    first = await WireClient.open(server.url, "/customer", {})
    second = await WireClient.open(server.url, "/customer", {})
    async with aiohttp.ClientSession() as http:
        try:
            await http.ws_connect(f"{server.url}/socket.io/?EIO=4&transport=websocket")
            raise AssertionError("a third connection from one address got past the cap of two")
        except aiohttp.WSServerHandshakeError as error:
            assert error.status == 401
    # A packet above maxPayload closes that connection.
    await second.ws.send_str("42/customer," + json.dumps(["session", {"x": "y" * 1_000_000}]))
    assert second.reader is not None
    await asyncio.wait_for(second.reader, 5)
    await second.close()
    assert "customer_id" in await first.ok("session")
    await first.close()
