"""Agents sign in with Supabase Auth: the server verifies the access token itself (JWKS keys
served by a local server, the legacy HS256 secret) and exchanges it for a Parley token."""

from __future__ import annotations

import base64
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import asyncpg
import jwt
import pytest
import pytest_asyncio

from server.config import Settings
from server.core.models import AgentRole
from tests.fake_supabase_auth import HS256_SECRET, FakeSupabaseAuth, SigningKey
from tests.support import RunningServer, create_agent, login, start_server


@pytest_asyncio.fixture
async def supabase() -> AsyncIterator[FakeSupabaseAuth]:
    fake = await FakeSupabaseAuth().start()
    yield fake
    await fake.stop()


def _supabase_settings(settings: Settings, fake: FakeSupabaseAuth, **changes: Any) -> Settings:
    return settings.with_overrides(**_supabase_options(fake, **changes))


def _supabase_options(fake: FakeSupabaseAuth, **changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "agent_sign_in": "both",
        "supabase_url": fake.url,
        "supabase_jwt_secret": HS256_SECRET,
        "supabase_agent_domains": ("team.example",),
        "supabase_role_claim": "app_metadata.parley_role",
    }
    values.update(changes)
    return values


@pytest.fixture
def server_options(supabase: FakeSupabaseAuth) -> dict[str, object]:
    return _supabase_options(supabase)


async def _exchange(server: RunningServer, token: str) -> tuple[int, dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{server.url}/api/v1/auth/supabase", json={"access_token": token}) as response,
    ):
        return response.status, await response.json()


async def _me(server: RunningServer, parley_token: str) -> dict[str, Any]:
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {parley_token}"}) as http:
        async with http.get(f"{server.url}/api/v1/me") as response:
            assert response.status == 200
            return (await response.json())["data"]["agent"]


async def test_es256_rs256_and_hs256_tokens_sign_an_agent_in(
    server: RunningServer, supabase: FakeSupabaseAuth
) -> None:
    agent_id = await create_agent(
        server.settings.database_url, email="Robin@Example.test", name="Robin"
    )
    es, rs = SigningKey("ES256"), SigningKey("RS256")
    supabase.published = [es, rs]
    claims = supabase.claims("robin@example.test")
    for key in (es, rs, None):
        status, body = await _exchange(server, supabase.token(key, claims))
        assert status == 200, body
        assert body["data"]["agent"]["id"] == str(agent_id)
        assert (await _me(server, body["data"]["token"]))["display_name"] == "Robin"
    # Linked by `sub` at the first sign-in: a later email change in Supabase keeps the agent.
    status, body = await _exchange(
        server, supabase.token(es, {**claims, "email": "new@else.example"})
    )
    assert status == 200 and body["data"]["agent"]["id"] == str(agent_id)
    assert supabase.requests == 1  # the keys were fetched once and cached
    # Password sign-in keeps working beside it.
    assert await login(server.url, "robin@example.test")


def _tamper(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = base64.urlsafe_b64decode(payload + "==").replace(b'"robin@', b'"admin@')
    return ".".join([header, base64.urlsafe_b64encode(claims).rstrip(b"=").decode(), signature])


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("expired", "expired"),
        ("wrong_audience", "audience"),
        ("wrong_issuer", "issuer"),
        ("unknown_kid", "unknown key"),
        ("tampered", "not valid"),
        ("wrong_secret", "not valid"),
        ("unsigned", "not accepted"),
        ("not_a_token", "not a Supabase access token"),
        ("anonymous", "signed-in Supabase users"),
        ("unverified_email", "verified email"),
    ],
)
async def test_bad_tokens_are_refused(
    server: RunningServer, supabase: FakeSupabaseAuth, case: str, message: str
) -> None:
    await create_agent(server.settings.database_url, email="robin@example.test")
    key = SigningKey("ES256")
    supabase.published = [key]
    claims = supabase.claims("robin@example.test")
    tokens = {
        "expired": lambda: supabase.token(key, {**claims, "exp": int(time.time()) - 120}),
        "wrong_audience": lambda: supabase.token(key, {**claims, "aud": "anon"}),
        "wrong_issuer": lambda: supabase.token(
            key, {**claims, "iss": "https://other.supabase.co/auth/v1"}
        ),
        "unknown_kid": lambda: supabase.token(SigningKey("ES256"), claims),
        "tampered": lambda: _tamper(supabase.token(key, claims)),
        "wrong_secret": lambda: jwt.encode(claims, "x" * 40, algorithm="HS256"),
        "unsigned": lambda: jwt.encode(claims, None, algorithm="none"),
        "not_a_token": lambda: "definitely-not-a-jwt",
        "anonymous": lambda: supabase.token(key, {**claims, "is_anonymous": True}),
        "unverified_email": lambda: supabase.token(key, {**claims, "user_metadata": {}}),
    }
    status, body = await _exchange(server, tokens[case]())
    assert status == 401, body
    assert body["error"]["code"] == "unauthorized"
    assert message.lower() in body["error"]["message"].lower()


async def test_rotated_keys_are_fetched_once_and_made_up_key_ids_do_not_flood_supabase(
    server: RunningServer, supabase: FakeSupabaseAuth
) -> None:
    await create_agent(server.settings.database_url, email="robin@example.test")
    old, new = SigningKey("RS256"), SigningKey("ES256")
    supabase.published = [old]
    claims = supabase.claims("robin@example.test")
    assert (await _exchange(server, supabase.token(old, claims)))[0] == 200
    assert supabase.requests == 1
    supabase.published = [old, new]  # Supabase publishes the new key, then signs with it
    assert (await _exchange(server, supabase.token(new, claims)))[0] == 200
    assert supabase.requests == 2
    # Made-up key ids right after that refetch: refused from the cache, Supabase not asked.
    for _ in range(3):
        status, body = await _exchange(server, supabase.token(SigningKey("ES256"), claims))
        assert status == 401 and "unknown key" in body["error"]["message"]
    assert supabase.requests == 2
    assert (await _exchange(server, supabase.token(new, claims)))[0] == 200
    assert supabase.requests == 2


async def test_unlinked_email_deactivated_agent_and_provisioning(
    server: RunningServer, supabase: FakeSupabaseAuth
) -> None:
    key = SigningKey("ES256")
    supabase.published = [key]
    status, body = await _exchange(
        server, supabase.token(key, supabase.claims("stranger@else.example"))
    )
    assert status == 403 and body["error"]["code"] == "forbidden"

    # An allow-listed domain makes an agent; a claim Supabase users cannot edit may make an admin.
    kim = supabase.claims("kim@team.example")
    status, body = await _exchange(server, supabase.token(key, kim))
    assert status == 200 and body["data"]["agent"]["role"] == "agent"
    claims = supabase.claims("lee@else.example", app_metadata={"parley_role": "admin"})
    status, body = await _exchange(server, supabase.token(key, claims))
    assert status == 200 and body["data"]["agent"]["role"] == "admin"
    conn = await asyncpg.connect(server.settings.database_url)
    try:
        rows = await conn.fetch("SELECT email, role FROM agents ORDER BY email")
        assert [(r["email"], r["role"]) for r in rows] == [
            ("kim@team.example", "agent"),
            ("lee@else.example", "admin"),
        ]
        teams = await conn.fetchval("SELECT count(*) FROM agent_teams")
        assert teams == 2
        # Deactivated in Parley: refused whatever Supabase says.
        await conn.execute("UPDATE agents SET is_active = false WHERE email = 'kim@team.example'")
    finally:
        await conn.close()
    status, body = await _exchange(server, supabase.token(key, kim))
    assert status == 403 and "deactivated" in body["error"]["message"]
    # A provisioned agent has no password until an admin sets one.
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{server.url}/api/v1/auth/login",
            json={"email": "lee@else.example", "password": "!supabase"},
        ) as response,
    ):
        assert response.status == 401


async def test_a_linked_agent_cannot_be_taken_over_by_another_supabase_user(
    server: RunningServer, supabase: FakeSupabaseAuth
) -> None:
    await create_agent(
        server.settings.database_url, email="robin@example.test", role=AgentRole.ADMIN
    )
    key = SigningKey("ES256")
    supabase.published = [key]
    assert (await _exchange(server, supabase.token(key, supabase.claims("robin@example.test"))))[
        0
    ] == 200
    # Another Supabase user (another sub) who gets that email later is not that agent.
    status, body = await _exchange(
        server, supabase.token(key, supabase.claims("robin@example.test"))
    )
    assert status == 403 and "another Supabase user" in body["error"]["message"]


async def test_sign_in_methods_follow_the_setting(
    settings: Settings, supabase: FakeSupabaseAuth
) -> None:
    await create_agent(settings.database_url, email="robin@example.test")
    key = SigningKey("ES256")
    supabase.published = [key]
    token = supabase.token(key, supabase.claims("robin@example.test"))
    password_only = await start_server(
        _supabase_settings(settings, supabase, agent_sign_in="password")
    )
    try:
        status, body = await _exchange(password_only, token)
        assert status == 403 and "not enabled" in body["error"]["message"]
    finally:
        await password_only.stop()
    supabase_only = await start_server(
        _supabase_settings(settings, supabase, agent_sign_in="supabase")
    )
    try:
        assert (await _exchange(supabase_only, token))[0] == 200
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                f"{supabase_only.url}/api/v1/auth/login",
                json={"email": "robin@example.test", "password": "correct horse battery"},
            ) as response,
        ):
            assert response.status == 403
            assert "sign in with Supabase" in (await response.json())["error"]["message"]
    finally:
        await supabase_only.stop()


async def test_the_sign_in_page_learns_the_methods(
    settings: Settings, supabase: FakeSupabaseAuth
) -> None:
    expected = {
        "password": ({"password": True, "supabase": None}),
        "both": ({"password": True, "supabase": {"url": supabase.url, "anon_key": "anon-key"}}),
        "supabase": (
            {"password": False, "supabase": {"url": supabase.url, "anon_key": "anon-key"}}
        ),
    }
    for mode, answer in expected.items():
        running = await start_server(
            _supabase_settings(settings, supabase, agent_sign_in=mode, supabase_anon_key="anon-key")
        )
        try:
            async with (
                aiohttp.ClientSession() as http,
                http.get(f"{running.url}/api/v1/auth/methods") as response,
            ):
                assert response.status == 200
                assert (await response.json())["data"] == answer
        finally:
            await running.stop()


async def test_unreachable_signing_keys_are_a_clear_unavailable(
    settings: Settings, supabase: FakeSupabaseAuth
) -> None:
    key = SigningKey("ES256")
    token = supabase.token(key, supabase.claims("robin@example.test"))
    await supabase.stop()  # the project's JWKS cannot be fetched and nothing is cached
    running = await start_server(_supabase_settings(settings, supabase, supabase_jwt_secret=""))
    try:
        status, body = await _exchange(running, token)
        assert status == 503 and body["error"]["code"] == "unavailable"
    finally:
        await running.stop()
