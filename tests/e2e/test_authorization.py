"""Who may see and do what, over sockets and REST; refusals never close the connection.

The authorization matrix: every REST route of the OpenAPI description and every socket event,
called by every kind of caller, gets exactly the answer its access rule promises. A route or an
event that the matrix does not know fails the test, so nothing new ships unchecked."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import asyncpg
import pytest
import pytest_asyncio
import socketio

from server.api.openapi import ENDPOINTS, Endpoint
from server.auth.tokens import TokenSigner
from server.core.models import AgentRole
from server.realtime.agent import AgentNamespace
from server.realtime.customer import CustomerNamespace
from tests.conftest import TEST_SECRET
from tests.e2e.routing_support import assignee, eventually, online_agent, waiting_customer
from tests.support import Client, RunningServer, agent, agent_token, customer


async def _customer_with_conversation(server: RunningServer):
    cust = await customer(server.url)
    token = (await cust.ok("session"))["visitor_token"]
    conversation_id = (await cust.ok("start_conversation", {}))["conversation"]["id"]
    await cust.ok(
        "send_message", {"conversation_id": conversation_id, "client_id": "s", "body": "secret"}
    )
    return cust, token, conversation_id


async def test_an_agent_sees_unassigned_and_joined_conversations_only_via_policy(
    server: RunningServer,
) -> None:
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
            await sio.connect(
                server.url,
                namespaces=[namespace],
                auth=auth,
                transports=["websocket"],
                wait_timeout=5,
            )
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
        stranger = (await (await http.post(f"{server.url}/api/v1/visitors")).json())["data"][
            "visitor_token"
        ]
        async with http.get(url, headers={"Authorization": f"Bearer {stranger}"}) as r:
            assert r.status == 404
        async with http.get(
            f"{server.url}/api/v1/conversations",
            headers={"Authorization": f"Bearer {visitor_token}"},
        ) as r:
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
        await sio.connect(
            server.url,
            namespaces=["/agent"],
            auth={"token": token},
            transports=["websocket"],
            wait_timeout=5,
        )
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as http:
        async with http.get(f"{server.url}/api/v1/me") as r:
            assert r.status == 401
    assert time.time()


# Routes outside the OpenAPI description: pages, probes and the Socket.IO endpoint, all public.
PUBLIC = {
    ("GET", "/"), ("GET", "/widget.js"), ("GET", "/console"), ("GET", "/console/"),
    ("GET", "/demo"), ("GET", "/demo/"), ("GET", "/healthz"), ("GET", "/readyz"),
    ("GET", "/socket.io/"), ("POST", "/socket.io/"),
    # Guarded by the operator's own token, not a user's (tests/e2e/test_metrics.py).
    ("GET", "/metrics"),
}  # fmt: skip
CALLERS = (
    "anonymous", "garbage token", "expired token", "deactivated agent",
    "visitor stranger", "visitor owner", "agent assignee", "other agent", "admin",
)  # fmt: skip
UNAUTHENTICATED = {"anonymous", "garbage token", "expired token", "deactivated agent"}
VISITORS = {"visitor stranger", "visitor owner"}


@dataclass
class World:
    server: RunningServer
    tokens: dict[str, str | None]
    conversation_id: str
    quick_response_id: str
    team_id: str
    agent_id: str
    sockets: dict[str, Client]


@pytest_asyncio.fixture
async def world(server: RunningServer) -> AsyncIterator[World]:
    assignee_id, assignee_token, assignee_socket = await online_agent(server, "Ann")
    owner, conversation_id = await waiting_customer(server)
    await owner.ok(
        "send_message", {"conversation_id": conversation_id, "client_id": "m1", "body": "hello"}
    )
    await eventually(lambda: _is(server, conversation_id, assignee_id))
    _, other_token = await agent_token(server, name="Otto")
    _, admin_token = await agent_token(server, role=AgentRole.ADMIN, name="Ada")
    dead_id, dead_token = await agent_token(server, name="Gone")
    stranger = await customer(server.url)
    owner_token = (await owner.ok("session"))["visitor_token"]
    stranger_token = (await stranger.ok("session"))["visitor_token"]
    async with aiohttp.ClientSession(
        base_url=server.url, headers={"Authorization": f"Bearer {assignee_token}"}
    ) as http:
        async with http.post(
            "/api/v1/quick-responses", json={"shortcut": "hi", "title": "Hi", "body": "Hello"}
        ) as r:
            quick_response_id = (await r.json())["data"]["quick_response"]["id"]
    conn = await asyncpg.connect(server.settings.database_url)
    try:
        await conn.execute("UPDATE agents SET is_active = false WHERE id = $1", dead_id)
        team_id = str(await conn.fetchval("SELECT id FROM teams WHERE slug = 'support'"))
    finally:
        await conn.close()
    tokens: dict[str, str | None] = {
        "anonymous": None,
        "garbage token": "not-a-token",
        "expired token": TokenSigner(TEST_SECRET).issue("agent", assignee_id, ttl_seconds=-10),
        "deactivated agent": dead_token,
        "visitor stranger": stranger_token,
        "visitor owner": owner_token,
        "agent assignee": assignee_token,
        "other agent": other_token,
        "admin": admin_token,
    }
    sockets = {
        "visitor stranger": stranger,
        "visitor owner": owner,
        "agent assignee": assignee_socket,
        "other agent": await agent(server.url, other_token),
        "admin": await agent(server.url, admin_token),
    }
    yield World(
        server, tokens, conversation_id, quick_response_id, team_id, str(assignee_id), sockets
    )
    for socket in sockets.values():
        await socket.close()


async def _is(server: RunningServer, conversation_id: str, agent_id: uuid.UUID) -> bool:
    return await assignee(server, conversation_id) == agent_id


def _expected(endpoint: Endpoint, caller: str) -> str:
    """allowed | unauthorized | forbidden | hidden: the rule each access kind promises."""
    conversation_scoped = "{conversation_id}" in endpoint.path
    if endpoint.auth == "none":
        return "allowed"
    if caller in UNAUTHENTICATED:
        return "unauthorized"
    if endpoint.auth in ("agent", "admin") and caller in VISITORS:
        return "forbidden"
    if endpoint.auth == "admin" and caller != "admin":
        return "forbidden"
    if conversation_scoped and caller in ("visitor stranger", "other agent"):
        return "hidden"
    if endpoint.auth in ("agent", "admin", "any", "link"):
        return "allowed"
    raise AssertionError(f"the matrix has no rule for auth {endpoint.auth!r}: add one")


def _outcome(status: int, endpoint: Endpoint) -> str:
    assert status < 500, status
    if status == 401:
        return "unauthorized"
    if status == 403:
        return "forbidden"
    # Ids of other things (quick responses, articles, attachments) may not exist: a 404 there
    # is an allowed caller's answer. A conversation exists, so its 404 means "hidden".
    if status == 404 and "{conversation_id}" in endpoint.path:
        return "hidden"
    return "allowed"


def _body(endpoint: Endpoint) -> dict:
    """Empty objects, as authorization is decided before validation; a conversation's message
    must be well-formed to reach the visibility check."""
    if endpoint.path.endswith("{conversation_id}/messages"):
        return {"client_id": f"m-{uuid.uuid4().hex[:8]}", "body": "matrix"}
    return {}


def _path(endpoint: Endpoint, world: World) -> str:
    return endpoint.path.format(
        conversation_id=world.conversation_id,
        response_id=world.quick_response_id,
        agent_id=world.agent_id,
        team_id=world.team_id,
        slug="no-such-article",
        attachment_id=uuid.uuid4(),
    )


async def test_every_route_is_in_the_matrix(server: RunningServer) -> None:
    described = {(e.method, e.path) for e in ENDPOINTS}
    for route in server.app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter") or info.get("prefix")
        if route.method in ("HEAD", "OPTIONS") or (path or "").startswith("/static/"):
            continue
        assert (route.method, path) in described | PUBLIC, (
            f"{route.method} {path} is not in the matrix"
        )


async def test_every_route_for_every_caller(world: World) -> None:
    wrong: list[str] = []
    async with aiohttp.ClientSession(base_url=world.server.url) as http:
        for endpoint in ENDPOINTS:
            for caller in CALLERS:
                token = world.tokens[caller]
                headers = {"Authorization": f"Bearer {token}"} if token else {}
                kwargs = {"json": _body(endpoint)} if endpoint.body else {}
                async with http.request(
                    endpoint.method, _path(endpoint, world), headers=headers, **kwargs
                ) as r:
                    got = _outcome(r.status, endpoint)
                if got != _expected(endpoint, caller):
                    wrong.append(
                        f"{endpoint.method} {endpoint.path} as {caller}: {got} ({r.status})"
                    )
    assert wrong == []


CONVERSATION_EVENTS = {
    "/customer": {"resume", "history", "send_message", "typing", "mark_read", "mark_delivered",
                  "request_human", "mark_solved"},
    "/agent": {"join", "resolve", "reopen", "claim", "unassign", "transfer", "set_priority",
               "suggest_reply", "history", "send_message", "typing", "mark_read", "mark_delivered"},
}  # fmt: skip
# Events that name no conversation of someone else: answered for the caller's own things only.
OWN_EVENTS = {
    "/customer": {"session", "start_conversation", "identify", "list_conversations", "leave"},
    "/agent": {"whoami", "set_presence", "get_queue", "leave"},
}


def _handlers(namespace: type) -> set[str]:
    return {name.removeprefix("on_") for name in dir(namespace) if name.startswith("on_")} - {
        "connect",
        "disconnect",
    }


def test_every_socket_event_is_in_the_matrix() -> None:
    for namespace, cls in (("/customer", CustomerNamespace), ("/agent", AgentNamespace)):
        assert _handlers(cls) == CONVERSATION_EVENTS[namespace] | OWN_EVENTS[namespace], namespace


def _payload(event: str, conversation_id: str, team_id: str, caller: str) -> dict:
    extra = {
        "send_message": {"client_id": f"x-{uuid.uuid4().hex[:8]}", "body": f"from {caller}"},
        "typing": {"typing": True},
        "mark_read": {"seq": 1},
        "mark_delivered": {"seq": 1},
        "set_priority": {"priority": "urgent"},
        "transfer": {"to_team_id": team_id},
    }.get(event, {})
    return {"conversation_id": conversation_id, **extra}


async def test_every_conversation_event_for_every_socket_caller(world: World) -> None:
    """Those who may not see the conversation get not_found, always; those who may, do not."""
    seen_by = {"visitor owner", "agent assignee", "admin"}
    wrong: list[str] = []
    for caller, socket in world.sockets.items():
        for event in sorted(CONVERSATION_EVENTS[socket.namespace]):
            if (
                event in {"resolve", "reopen", "unassign", "transfer", "claim", "mark_solved"}
                and caller in seen_by
            ):
                continue  # state changes for those allowed are tested where they are specified
            ack = await socket.call(
                event, _payload(event, world.conversation_id, world.team_id, caller)
            )
            hidden = not ack["ok"] and ack["error"]["code"] == "not_found"
            if caller in seen_by and event != "typing" and hidden:
                wrong.append(f"{caller} {event}: refused {ack}")
            if caller not in seen_by and not hidden:
                wrong.append(f"{caller} {event}: {ack}")
    assert wrong == []
    assert await assignee(world.server, world.conversation_id) == uuid.UUID(world.agent_id)
    # Only what those allowed sent was stored.
    history = await world.sockets["visitor owner"].ok(
        "history", {"conversation_id": world.conversation_id}
    )
    bodies = [m["body"] for m in history["messages"] if m["sender_kind"] != "system"]
    assert bodies == ["hello", "from visitor owner", "from agent assignee", "from admin"]
