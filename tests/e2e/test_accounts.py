"""Accounts and sessions: own password changes, reset links, unlocks, deactivation, token rotation."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import asyncpg
import socketio

from server.auth.identity import identity_hash
from server.config import Settings
from server.core.models import AgentRole
from tests.support import (
    PASSWORD,
    Client,
    RunningServer,
    agent,
    agent_token,
    create_agent,
    customer,
    login,
    start_server,
)

NEW_PASSWORD = "a brand new passphrase"


async def _call(
    server: RunningServer, method: str, path: str, token: str | None = None, json: Any = None
) -> tuple[int, dict]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, f"{server.url}{path}", json=json, headers=headers) as response,
    ):
        return response.status, await response.json()


async def _audit_actions(server: RunningServer) -> list[str]:
    conn = await asyncpg.connect(server.settings.database_url)
    try:
        return [r["action"] for r in await conn.fetch("SELECT action FROM audit_log ORDER BY id")]
    finally:
        await conn.close()


class Watched:
    """An agent socket that records session_ended and its own disconnect."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.ended: list[dict] = []
        self.gone = asyncio.Event()
        client.sio.on("session_ended", self.ended.append, namespace="/agent")
        client.sio.on("disconnect", self._disconnected, namespace="/agent")

    def _disconnected(self, *args: object) -> None:
        self.gone.set()


async def _watched_agent(server: RunningServer, token: str) -> Watched:
    return Watched(await agent(server.url, token))


async def _refused(server: RunningServer, namespace: str, token: str) -> dict:
    sio = socketio.AsyncClient(reconnection=False)
    reasons: list[dict] = []
    sio.on("connect_error", reasons.append, namespace=namespace)
    try:
        await sio.connect(
            server.url,
            namespaces=[namespace],
            auth={"token": token},
            transports=["websocket"],
            wait_timeout=5,
        )
    except socketio.exceptions.ConnectionError:
        assert len(reasons) == 1
        return reasons[0]["data"]
    raise AssertionError("the connection was accepted")


async def test_an_agent_changes_their_password_and_their_other_sessions_end(
    server: RunningServer,
) -> None:
    email = "casey@example.test"
    await create_agent(server.settings.database_url, email=email)
    old_token = await login(server.url, email)
    other_tab = await _watched_agent(server, old_token)
    path = "/api/v1/me/password"
    status, body = await _call(
        server, "POST", path, old_token, {"current_password": "wrong", "new_password": NEW_PASSWORD}
    )
    assert status == 403 and body["error"]["code"] == "forbidden"
    for weak in ("short", "password123", "casey@example.test", "aaaaaaaaaaaa"):
        status, body = await _call(
            server, "POST", path, old_token, {"current_password": PASSWORD, "new_password": weak}
        )
        assert status == 422 and body["error"]["details"]["field"] == "password", (weak, body)
    assert other_tab.ended == [] and await other_tab.client.ok("whoami")  # nothing changed yet
    status, body = await _call(
        server,
        "POST",
        path,
        old_token,
        {"current_password": PASSWORD, "new_password": NEW_PASSWORD},
    )
    assert status == 200, body
    new_token = body["data"]["token"]
    await asyncio.wait_for(other_tab.gone.wait(), 5)
    assert other_tab.ended == [{"reason": "password_changed"}]
    status, body = await _call(server, "GET", "/api/v1/me", old_token)
    assert status == 401
    assert "session has ended" in (await _refused(server, "/agent", old_token))["message"]
    status, body = await _call(server, "GET", "/api/v1/me", new_token)
    assert status == 200 and body["data"]["agent"]["email"] == email
    fresh = await agent(server.url, new_token)
    await fresh.ok("whoami")
    await fresh.close()
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{server.url}/api/v1/auth/login", json={"email": email, "password": PASSWORD}
        ) as r:
            assert r.status == 401
    await login(server.url, email, NEW_PASSWORD)
    assert await _audit_actions(server) == ["agent.password_change"]


async def test_visitors_cannot_change_a_password(server: RunningServer) -> None:
    visitor = await customer(server.url)
    token = (await visitor.ok("session"))["visitor_token"]
    status, _ = await _call(
        server,
        "POST",
        "/api/v1/me/password",
        token,
        {"current_password": "x", "new_password": NEW_PASSWORD},
    )
    assert status == 403
    await visitor.close()


async def test_an_admin_reset_link_works_once_and_ends_sessions(server: RunningServer) -> None:
    email = "robin@example.test"
    agent_id = await create_agent(server.settings.database_url, email=email)
    agent_tok = await login(server.url, email)
    _, admin_tok = await agent_token(server, role=AgentRole.ADMIN, name="Ada")
    path = f"/api/v1/admin/agents/{agent_id}/password-reset"
    status, _ = await _call(server, "POST", path, agent_tok)
    assert status == 403
    status, body = await _call(server, "POST", path, admin_tok)
    assert status == 201, body
    link = body["data"]["token"]
    assert body["data"]["path"] == f"/console/#/reset-password?token={link}"
    watched = await _watched_agent(server, agent_tok)
    reset = "/api/v1/auth/password-reset"
    status, body = await _call(
        server, "POST", reset, json={"token": link, "new_password": "password1"}
    )
    assert status == 422  # the policy holds here too, and the link is not spent
    status, body = await _call(
        server, "POST", reset, json={"token": link, "new_password": NEW_PASSWORD}
    )
    assert status == 200 and body["data"]["email"] == email
    await asyncio.wait_for(watched.gone.wait(), 5)
    assert watched.ended == [{"reason": "password_changed"}]
    status, body = await _call(
        server, "POST", reset, json={"token": link, "new_password": "yet another passphrase"}
    )
    assert status == 401 and body["error"]["code"] == "unauthorized"
    await login(server.url, email, NEW_PASSWORD)
    # A newer link replaces an older one; an expired one is refused.
    _, first = await _call(server, "POST", path, admin_tok)
    _, second = await _call(server, "POST", path, admin_tok)
    status, _ = await _call(
        server,
        "POST",
        reset,
        json={"token": first["data"]["token"], "new_password": "third passphrase here"},
    )
    assert status == 401
    conn = await asyncpg.connect(server.settings.database_url)
    try:
        await conn.execute("UPDATE password_resets SET expires_at = now() - interval '1 second'")
    finally:
        await conn.close()
    status, _ = await _call(
        server,
        "POST",
        reset,
        json={"token": second["data"]["token"], "new_password": "third passphrase here"},
    )
    assert status == 401
    assert await _audit_actions(server) == [
        "agent.password_reset_link",
        "agent.password_reset",
        "agent.password_reset_link",
        "agent.password_reset_link",
    ]


async def test_an_admin_unlocks_a_locked_out_account(server: RunningServer) -> None:
    email = "locked@example.test"
    agent_id = await create_agent(server.settings.database_url, email=email)
    _, admin_tok = await agent_token(server, role=AgentRole.ADMIN, name="Ada")
    async with aiohttp.ClientSession() as http:
        url = f"{server.url}/api/v1/auth/login"
        for _ in range(server.settings.login_max_failures_per_account):
            async with http.post(url, json={"email": email, "password": "wrong"}) as r:
                assert r.status == 401
        async with http.post(url, json={"email": email, "password": PASSWORD}) as r:
            assert r.status == 429
        status, body = await _call(
            server, "POST", f"/api/v1/admin/agents/{agent_id}/unlock", admin_tok
        )
        assert status == 200 and body["data"]["agent"]["email"] == email
        async with http.post(url, json={"email": email, "password": PASSWORD}) as r:
            assert r.status == 200
    assert await _audit_actions(server) == ["agent.unlock"]


async def test_deactivating_an_agent_closes_their_sockets_and_tokens(server: RunningServer) -> None:
    agent_id, agent_tok = await agent_token(server, name="Sam")
    _, admin_tok = await agent_token(server, role=AgentRole.ADMIN, name="Ada")
    tabs = [await _watched_agent(server, agent_tok) for _ in range(2)]
    bystander = await _watched_agent(server, admin_tok)
    status, body = await _call(
        server, "PATCH", f"/api/v1/admin/agents/{agent_id}", admin_tok, {"is_active": False}
    )
    assert status == 200, body
    for tab in tabs:
        await asyncio.wait_for(tab.gone.wait(), 5)
        assert tab.ended == [{"reason": "deactivated"}]
    assert (await _call(server, "GET", "/api/v1/me", agent_tok))[0] == 401
    await _refused(server, "/agent", agent_tok)
    # Reactivating does not bring the old token back.
    status, _ = await _call(
        server, "PATCH", f"/api/v1/admin/agents/{agent_id}", admin_tok, {"is_active": True}
    )
    assert status == 200
    assert (await _call(server, "GET", "/api/v1/me", agent_tok))[0] == 401
    await bystander.client.ok("whoami")
    assert bystander.ended == [] and not bystander.gone.is_set()
    await bystander.client.close()


async def test_identify_rotates_the_visitor_token(settings: Settings) -> None:
    secret = "identity-secret-0123456789"
    server = await start_server(settings.with_overrides(identity_secret=secret))
    try:
        visitor = await customer(server.url)
        anonymous_token = (await visitor.ok("session"))["visitor_token"]
        started = await visitor.ok("start_conversation", {})
        identified = await visitor.ok(
            "identify", {"user_id": "u-1", "hash": identity_hash(secret, "u-1")}
        )
        assert identified["switched"] is False
        assert identified["visitor_token"] != anonymous_token
        assert (await visitor.ok("session"))["visitor_token"] == identified["visitor_token"]
        reason = await _refused(server, "/customer", anonymous_token)
        assert reason["code"] == "unauthorized"
        status, _ = await _call(
            server, "GET", f"/api/v1/conversations/{started['conversation']['id']}", anonymous_token
        )
        assert status == 401
        again = await customer(server.url, identified["visitor_token"])
        resumed = await again.ok(
            "resume", {"conversation_id": started["conversation"]["id"], "after_seq": 0}
        )
        assert resumed["conversation"]["id"] == started["conversation"]["id"]
        # The socket that identified keeps working.
        await visitor.ok(
            "send_message",
            {
                "conversation_id": started["conversation"]["id"],
                "body": "still here",
                "client_id": "k1",
            },
        )
        await visitor.close()
        await again.close()
    finally:
        await server.stop()
