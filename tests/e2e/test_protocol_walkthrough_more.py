"""The independent client's walk, further: every documented connect refusal, REST error bodies
route by route, and the agents' REST routes with their exact fields, from docs/protocol.md."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import aiohttp

from server.auth.tokens import TokenSigner
from server.core.models import AgentRole
from tests.e2e.wire_client import (
    AGENT,
    CUSTOMER,
    Refused,
    WireClient,
    check_conversation,
    error_of,
    rest,
    send,
    sign_in,
)
from tests.support import PASSWORD, Servers

SUMMARY = {
    "customer", "last_message", "unread", "my_read_seq", "customer_delivered_seq",
    "customer_read_seq", "waiting_since",
}  # fmt: skip


async def refusal(url: str, namespace: str, auth: Any) -> dict[str, Any]:
    """The `connect_error` payload of a connect the server must refuse."""
    try:
        client = await WireClient.open(url, namespace, auth)
    except Refused as refused:
        payload = refused.payload
        assert set(payload) == {"message", "data"}, payload
        assert payload["data"]["message"] == payload["message"], payload
        assert set(payload["data"]) <= {"code", "message", "details"}, payload
        return dict(payload["data"])
    await client.close()
    raise AssertionError(f"{namespace} with {auth!r} was let in")


async def raw_request(
    method: str, url: str, token: str | None, data: bytes, content_type: str = "application/json"
) -> tuple[int, Any]:
    headers = {"Content-Type": content_type}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, url, data=data, headers=headers) as response,
    ):
        return response.status, await response.json()


async def test_every_documented_connect_refusal(servers: Servers) -> None:
    server = await servers.start()
    url = server.url
    visitor = await WireClient.open(url, "/customer", {})
    session = await visitor.ok("session")
    visitor_token = session["visitor_token"]
    await visitor.close()
    staff = await sign_in(server)
    agent_id = uuid.UUID(staff["agent"]["id"])
    signer = TokenSigner(server.settings.secret_key)

    # The payload the document shows, for an expired token.
    expired = signer.issue("agent", agent_id, ttl_seconds=-10)
    assert await refusal(url, "/agent", {"token": expired}) == {
        "code": "unauthorized",
        "message": "token expired",
    }
    head, claims, signature = staff["token"].split(".")
    flipped = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
    for namespace, auth in (
        ("/agent", {}),  # missing
        ("/agent", {"token": None}),
        ("/agent", {"token": f"{head}.{claims}.{flipped}"}),  # badly signed
        ("/agent", {"token": "not a token"}),  # malformed
        ("/agent", {"token": visitor_token}),  # wrong kind: a visitor token cannot open /agent
        ("/customer", {"token": staff["token"]}),  # and an agent token cannot open /customer
        ("/customer", {"token": signer.issue("visitor", uuid.uuid4(), ttl_seconds=-1)}),
        ("/agent", {"token": signer.issue("agent", uuid.uuid4(), ttl_seconds=60)}),  # no account
    ):
        refused = await refusal(url, namespace, auth)
        assert set(refused) == {"code", "message"} and refused["code"] == "unauthorized", auth
    assert (await refusal(url, "/customer", {"token": None, "name": "x"}))["code"] == (
        "unknown_field"
    )
    # `auth` that is not an object, and a token that is not a string.
    for namespace in ("/agent", "/customer"):
        for auth in ([staff["token"]], "a string", True, {"token": ["p1.x"]}, {"token": True}):
            assert (await refusal(url, namespace, auth))["code"] == "bad_request", auth
    # An empty `auth` is no `auth` at all: a new visitor on /customer, refused on /agent.
    newcomers = set()
    for auth in (None, False, "", []):
        assert (await refusal(url, "/agent", auth))["code"] == "unauthorized", auth
        anonymous = await WireClient.open(url, "/customer", auth)
        newcomers.add((await anonymous.ok("session"))["customer_id"])
        await anonymous.close()
    assert len(newcomers) == 4 and session["customer_id"] not in newcomers
    # A namespace without handlers is refused by Socket.IO itself.
    try:
        await WireClient.open(url, "/nope", {})
        raise AssertionError("a namespace without handlers was let in")
    except Refused as refused:
        assert refused.payload == "Unable to connect"

    # A deactivated agent's token is refused from then on.
    admin = await sign_in(server, AgentRole.ADMIN)
    status, _, _ = await rest(
        "PATCH", f"{url}/api/v1/admin/agents/{agent_id}", admin["token"], {"is_active": False}
    )
    assert status == 200
    refused = await refusal(url, "/agent", {"token": staff["token"]})
    assert refused["code"] == "unauthorized"
    # A refused connect leaves the address free to connect properly afterwards.
    fine = await WireClient.open(url, "/agent", {"token": admin["token"]})
    assert (await fine.ok("whoami"))["role"] == "admin"
    await fine.close()


async def test_rest_error_bodies_route_by_route(servers: Servers) -> None:
    server = await servers.start()
    api = f"{server.url}/api/v1"
    visitor = await WireClient.open(server.url, "/customer", {})
    visitor_token = (await visitor.ok("session"))["visitor_token"]
    conversation_id = (await visitor.ok("start_conversation"))["conversation"]["id"]
    agent = (await sign_in(server))["token"]
    admin = (await sign_in(server, AgentRole.ADMIN))["token"]
    messages = f"{api}/conversations/{conversation_id}/messages"
    json_routes = [
        ("POST", f"{api}/auth/login", None),
        ("POST", messages, visitor_token),
        ("POST", f"{api}/quick-responses", agent),
        ("POST", f"{api}/me/password", agent),
        ("POST", f"{api}/admin/agents", admin),
        ("POST", f"{api}/admin/teams", admin),
        ("PUT", f"{api}/admin/settings/widget", admin),
    ]
    for method, url, token in json_routes:
        # Not JSON at all, Infinity included: 400 bad_request.
        for text in (b"{not json", b'{"body": Infinity}'):
            status, body = await raw_request(method, url, token, text)
            error_of(status, body, 400, "bad_request")
        # A field the schema does not declare: 400 unknown_field.
        status, _, body = await rest(method, url, token, {"no_such_field": 1})
        error_of(status, body, 400, "unknown_field")
        # A wrong type: 422 validation_failed, the message naming the field.
        status, _, body = await rest(method, url, token, [])
        error_of(status, body, 422, "validation_failed")
        # Above 256 KiB: 413 too_large.
        status, body = await raw_request(
            method, url, token, json.dumps({"body": "x" * 270_000}).encode()
        )
        error_of(status, body, 413, "too_large")
    status, _, body = await rest("POST", messages, visitor_token, {"client_id": 7})
    assert error_of(status, body, 422, "validation_failed")["message"].endswith(
        "- at `$.client_id`"
    )

    # Unknown ids are 404 not_found; so are non-UUID ids and unknown /api/ routes.
    stranger = uuid.uuid4()
    for method, url, token, payload in (
        ("GET", f"{api}/conversations/{stranger}", agent, None),
        ("GET", f"{api}/conversations/{stranger}/messages", visitor_token, None),
        ("POST", f"{api}/conversations/{stranger}/messages", visitor_token,
         {"client_id": "a", "body": "b"}),
        ("GET", f"{api}/conversations/{stranger}/customer", agent, None),
        ("GET", f"{api}/conversations/{stranger}/handover", agent, None),
        ("GET", f"{api}/attachments/{stranger}/content", visitor_token, None),
        ("PUT", f"{api}/quick-responses/{stranger}", agent, {"shortcut": "a", "title": "a",
                                                            "body": "a"}),
        ("DELETE", f"{api}/quick-responses/{stranger}", agent, None),
        ("GET", f"{api}/conversations/12345", agent, None),
        ("GET", f"{api}/no-such-route", agent, None),
        ("GET", f"{api}/no-such-route", None, None),
    ):  # fmt: skip
        status, _, body = await rest(method, url, token, payload)
        error_of(status, body, 404, "not_found")

    # Without a token: 401; a visitor on an agent route: 403 "agent credentials required";
    # an agent on an admin route: 403.
    for url in (f"{api}/me", f"{api}/conversations", f"{api}/directory", f"{api}/admin/agents"):
        status, _, body = await rest("GET", url)
        error_of(status, body, 401, "unauthorized")
        status, _, body = await rest("GET", url, "p1.not.valid")
        error_of(status, body, 401, "unauthorized")
    for url in (
        f"{api}/directory",
        f"{api}/quick-responses",
        f"{api}/conversations/{conversation_id}/handover",
    ):
        status, _, body = await rest("GET", url, visitor_token)
        error = error_of(status, body, 403, "forbidden")
        assert error["message"] == "agent credentials required", (url, error)
    for method, url in (
        ("GET", f"{api}/admin/agents"),
        ("GET", f"{api}/admin/teams"),
        ("GET", f"{api}/admin/settings/widget"),
        ("GET", f"{api}/admin/reports"),
        ("GET", f"{api}/admin/audit-log"),
        ("POST", f"{api}/admin/agents"),
    ):
        for token in (agent, visitor_token):
            status, _, body = await rest(method, url, token, {} if method == "POST" else None)
            error_of(status, body, 403, "forbidden")
    status, _, body = await rest("POST", f"{api}/me/password", visitor_token, {})
    error_of(status, body, 403, "forbidden")

    # A method a route does not allow: 405 bad_request "Method Not Allowed".
    for method, url in (
        ("PUT", f"{api}/conversations"),
        ("DELETE", f"{api}/widget/settings"),
        ("GET", f"{api}/auth/login"),
        ("PATCH", messages),
    ):
        status, _, body = await rest(method, url, agent)
        assert error_of(status, body, 405, "bad_request")["message"] == "Method Not Allowed"
    await visitor.close()


async def test_agent_rest_routes_and_their_fields(servers: Servers) -> None:
    server = await servers.start()
    api = f"{server.url}/api/v1"
    signed_in = await sign_in(server, AgentRole.ADMIN)
    token, me = signed_in["token"], signed_in["agent"]["id"]
    # Three conversations of three visitors: the first is routed to the agent, who then steps
    # away; the other two wait, and one of them gets resolved.
    staff = await WireClient.open(server.url, "/agent", {"token": token})
    conversations = []
    for n in range(3):
        visitor = await WireClient.open(server.url, "/customer", {})
        started = await visitor.ok(
            "start_conversation", {"name": f"Casey {n}", "email": f"casey{n}@example.com"}
        )
        conversation_id = started["conversation"]["id"]
        await visitor.ok("send_message", send(conversation_id, f"c{n}", "x" * 300))
        conversations.append((visitor, conversation_id))
        if n == 0:
            [assigned] = await staff.wait("assigned")
            assert assigned["conversation"]["id"] == conversation_id
            await staff.ok("set_presence", {"status": "away"})
    answered = conversations[0][1]
    await staff.ok("send_message", send(answered, "a1", "Hello"))
    await staff.ok("send_message", send(answered, "a2", "note", visibility="internal"))
    await conversations[0][0].ok("send_message", send(answered, "c9", "Thanks"))
    await staff.ok("resolve", {"conversation_id": conversations[2][1]})

    status, _, body = await rest("GET", f"{api}/conversations?limit=2", token)
    assert status == 200 and set(body) == {"ok", "data"} and body["ok"] is True
    first = body["data"]
    assert set(first) == {"conversations", "next_cursor"} and len(first["conversations"]) == 2
    assert isinstance(first["next_cursor"], str)
    status, _, body = await rest(
        "GET", f"{api}/conversations?limit=2&cursor={first['next_cursor']}", token
    )
    second = body["data"]
    assert len(second["conversations"]) == 1 and second["next_cursor"] is None
    listed = first["conversations"] + second["conversations"]
    by_id = {c["id"]: dict(c) for c in listed}
    assert {c["id"] for c in listed} == {c for _, c in conversations}
    updated = [c["updated_at"] for c in listed]
    assert updated == sorted(updated, reverse=True)  # most recently updated first
    for conversation in listed:
        summary = conversation.pop("summary")
        check_conversation(conversation)
        assert set(summary) == SUMMARY
        assert set(summary["customer"]) == {"id", "name", "email", "identity_verified"}
        assert set(summary["last_message"]) == {
            "seq", "body", "sender_kind", "visibility", "created_at",
        }  # fmt: skip
    status, _, body = await rest("GET", f"{api}/conversations/{answered}", token)
    assert status == 200 and set(body["data"]) == {"conversation"}
    summary = body["data"]["conversation"]["summary"]
    # The customer's "Thanks" came after the agent's reply: one unread, waiting since then.
    assert summary["last_message"]["body"] == "Thanks" and summary["unread"] == 1
    assert summary["my_read_seq"] == 3 and summary["waiting_since"] is not None
    # Posting moved the customer's own cursors to their message.
    assert (summary["customer_delivered_seq"], summary["customer_read_seq"]) == (4, 4)
    assert summary["last_message"]["sender_kind"] == "customer"
    assert summary["customer"]["name"] == "Casey 0"
    assert summary["customer"]["email"] == "casey0@example.com"
    unanswered = by_id[conversations[1][1]]
    assert len(unanswered["summary"]["last_message"]["body"]) == 200  # cut at 200 characters

    async def ids(query: str) -> set[str]:
        status, _, body = await rest("GET", f"{api}/conversations?{query}", token)
        assert status == 200, body
        return {c["id"] for c in body["data"]["conversations"]}

    assert await ids("status=resolved") == {conversations[2][1]}
    assert await ids("status=open") == {answered, conversations[1][1]}
    assert await ids("status=all") == {c for _, c in conversations}
    assert await ids("assignee=me") == {answered}
    assert await ids(f"assignee={me}") == {answered}
    assert await ids("assignee=none") == {conversations[1][1], conversations[2][1]}
    assert len(await ids("assignee=any")) == 3

    # The customer sidebar, the hand-over brief (none here) and the directory.
    status, _, body = await rest("GET", f"{api}/conversations/{answered}/customer", token)
    assert status == 200 and set(body["data"]) == {"customer", "conversations"}
    assert set(body["data"]["customer"]) == CUSTOMER | {"external_id"}
    assert [c["id"] for c in body["data"]["conversations"]] == [answered]
    status, _, body = await rest("GET", f"{api}/conversations/{answered}/handover", token)
    assert status == 200 and body["data"] == {"handover": None}
    status, _, body = await rest("GET", f"{api}/directory", token)
    assert status == 200 and set(body["data"]) == {"agents", "teams"}
    [agent] = body["data"]["agents"]
    assert set(agent) == {"id", "display_name", "role", "status", "load", "capacity", "team_ids"}
    assert (agent["id"], agent["status"], agent["load"]) == (me, "away", 1)
    assert all(set(t) == {"id", "slug", "name", "is_default"} for t in body["data"]["teams"])

    # Messages over REST: paging both ways, notes included for agents, never for visitors.
    base = f"{api}/conversations/{answered}/messages"
    status, _, body = await rest("GET", f"{base}?before_seq=4&limit=2", token)
    page = body["data"]
    assert [m["seq"] for m in page["messages"]] == [2, 3] and page["has_more"] is True
    assert (page["first_seq"], page["last_seq"]) == (2, 3)
    status, _, body = await rest("GET", f"{base}?after_seq=4", token)
    assert body["data"] == {"messages": [], "has_more": False, "first_seq": None, "last_seq": None}
    visitor_token = (await conversations[0][0].ok("session"))["visitor_token"]
    status, _, body = await rest("GET", base, visitor_token)
    assert [m["seq"] for m in body["data"]["messages"]] == [1, 2, 4]
    # A visitor's list: their own, filters and cursor ignored, next_cursor always null.
    status, _, body = await rest(
        "GET", f"{api}/conversations?status=resolved&cursor=junk", visitor_token
    )
    assert status == 200 and body["data"]["next_cursor"] is None
    assert [c["id"] for c in body["data"]["conversations"]] == [answered]
    assert "summary" not in body["data"]["conversations"][0]
    # A public reply from an agent: the customer is no longer waiting for one.
    await staff.ok("send_message", send(conversations[1][1], "a9", "On it"))
    status, _, body = await rest("GET", f"{api}/conversations/{conversations[1][1]}", token)
    replied = body["data"]["conversation"]["summary"]
    assert replied["waiting_since"] is None and replied["last_message"]["body"] == "On it"
    for visitor, _ in conversations:
        await visitor.close()
    await staff.close()


async def test_sign_in_and_account_routes_as_documented(servers: Servers) -> None:
    server = await servers.start()
    api = f"{server.url}/api/v1"
    signed_in = await sign_in(server)
    email, token = signed_in["agent"]["email"], signed_in["token"]
    # The email is matched without regard to case, after surrounding spaces are trimmed.
    status, _, body = await rest(
        "POST", f"{api}/auth/login", None, {"email": f"  {email.upper()} ", "password": PASSWORD}
    )
    assert status == 200 and body["data"]["agent"]["id"] == signed_in["agent"]["id"]
    # Agent tokens live for 12 hours; expires_at is in Unix seconds.
    assert abs(body["data"]["expires_at"] - (time.time() + 12 * 3600)) < 60
    status, _, body = await rest(
        "POST", f"{api}/auth/login", None, {"email": "nobody@example.test", "password": "x"}
    )
    error_of(status, body, 401, "unauthorized")
    status, _, body = await rest(
        "POST", f"{api}/auth/login", None, {"email": "ab", "password": "x"}
    )
    error_of(status, body, 422, "validation_failed")  # email shorter than 3
    status, _, body = await rest("POST", f"{api}/auth/supabase", None, {"access_token": "x.y.z"})
    error = error_of(status, body, 403, "forbidden")
    assert error["message"] == "sign-in with Supabase is not enabled"

    status, _, body = await rest("GET", f"{api}/me", token)
    assert status == 200 and set(body["data"]) == {"kind", "agent"}
    assert body["data"]["kind"] == "agent" and set(body["data"]["agent"]) == AGENT

    # The password policy, each failure naming the field "password".
    for weak in ("short", "QwertyUiop", "abababababab", email):
        status, _, body = await rest(
            "POST",
            f"{api}/me/password",
            token,
            {"current_password": PASSWORD, "new_password": weak},
        )
        if status == 200:
            raise AssertionError(f"{weak!r} passed the password policy")
        assert error_of(status, body, 422, "validation_failed")["details"] == {"field": "password"}
    status, _, body = await rest(
        "POST", f"{api}/auth/password-reset", None, {"token": "x", "new_password": "a fine one!"}
    )
    error_of(status, body, 401, "unauthorized")

    # A visitor's view of one conversation: no summary.
    visitor = await WireClient.open(server.url, "/customer", {})
    visitor_token = (await visitor.ok("session"))["visitor_token"]
    conversation_id = (await visitor.ok("start_conversation"))["conversation"]["id"]
    status, _, body = await rest("GET", f"{api}/conversations/{conversation_id}", visitor_token)
    assert status == 200 and set(body["data"]) == {"conversation"}
    check_conversation(body["data"]["conversation"])
    status, _, body = await rest("GET", f"{api}/me", visitor_token)
    assert body["data"] == {"kind": "customer", "customer_id": body["data"]["customer_id"]}
    await visitor.close()
