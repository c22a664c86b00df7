"""`parley agents ...` as real subprocesses next to a running server: same actions, audited."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import aiohttp
import asyncpg

from tests.support import RunningServer, agent, create_agent, login, settings_environment

ROOT = Path(__file__).resolve().parents[2]


async def parley(server: RunningServer, *args: str, stdin: str = "") -> tuple[int, str, str]:
    env = {**os.environ, **settings_environment(server.settings)}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "server", "agents", *args, cwd=ROOT, env=env,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(stdin.encode()), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def _login_status(server: RunningServer, email: str, password: str) -> int:
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{server.url}/api/v1/auth/login", json={"email": email, "password": password}
        ) as r,
    ):
        return r.status


async def test_create_list_and_the_password_policy(server: RunningServer) -> None:
    rc, out, err = await parley(
        server,
        "create",
        "boss@example.test",
        "--admin",
        "--name",
        "Boss",
        "--password-stdin",
        stdin="a long admin passphrase\n",
    )
    assert rc == 0, err
    assert out.startswith("created admin boss@example.test")
    token = await login(server.url, "boss@example.test", "a long admin passphrase")
    async with (
        aiohttp.ClientSession() as http,
        http.get(
            f"{server.url}/api/v1/admin/agents", headers={"Authorization": f"Bearer {token}"}
        ) as r,
    ):
        assert r.status == 200  # an admin indeed
    rc, out, err = await parley(server, "create", "helper@example.test")
    assert rc == 0, err
    rc, _, err = await parley(server, "create", "lost@example.test", "--team", "nowhere")
    assert rc == 1 and "no team 'nowhere'" in err
    generated = out.split("password: ", 1)[1].split()[0]
    assert await _login_status(server, "helper@example.test", generated) == 200
    rc, out, err = await parley(
        server, "create", "weak@example.test", "--password-stdin", stdin="password123\n"
    )
    assert rc == 1 and "too easy to guess" in err and out == ""
    rc, out, err = await parley(
        server, "create", "boss@example.test", "--password-stdin", stdin="another long passphrase\n"
    )
    assert rc == 1 and "already exists" in err
    rc, out, err = await parley(server, "list")
    assert rc == 0, err
    rows = sorted(line.split("\t")[:3] for line in out.splitlines())
    assert rows == [
        ["boss@example.test", "admin", "active"],
        ["helper@example.test", "agent", "active"],
    ]
    conn = await asyncpg.connect(server.settings.database_url)
    try:
        teams = await conn.fetch(
            "SELECT a.email, t.slug FROM agent_teams x JOIN agents a ON a.id = x.agent_id JOIN teams t ON t.id = x.team_id ORDER BY a.email"
        )
        assert [tuple(r) for r in teams] == [
            ("boss@example.test", "support"),
            ("helper@example.test", "support"),
        ]
        audited = [
            tuple(r)
            for r in await conn.fetch(
                "SELECT actor_id, actor_name, action FROM audit_log ORDER BY id"
            )
        ]
    finally:
        await conn.close()
    assert audited == [(None, "command line", "agent.create")] * 2


async def test_set_password_ends_sessions_and_unlock_clears_the_throttle(
    server: RunningServer,
) -> None:
    email = "dana@example.test"
    await create_agent(server.settings.database_url, email=email)
    old_token = await login(server.url, email)
    socket = await agent(server.url, old_token)
    ended: list[dict] = []
    gone = asyncio.Event()
    socket.sio.on("session_ended", ended.append, namespace="/agent")
    socket.sio.on("disconnect", lambda *_: gone.set(), namespace="/agent")
    rc, out, err = await parley(
        server, "set-password", email, "--password-stdin", stdin="a fresh passphrase\n"
    )
    assert rc == 0, err
    await asyncio.wait_for(gone.wait(), 10)
    assert ended == [{"reason": "password_changed"}]
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{server.url}/api/v1/me", headers={"Authorization": f"Bearer {old_token}"}) as r,
    ):
        assert r.status == 401
    for _ in range(server.settings.login_max_failures_per_account):
        assert await _login_status(server, email, "wrong") == 401
    assert await _login_status(server, email, "a fresh passphrase") == 429
    rc, out, err = await parley(server, "unlock", email)
    assert rc == 0 and f"{email} may sign in again" in out, err
    assert await _login_status(server, email, "a fresh passphrase") == 200
    rc, _, err = await parley(server, "unlock", "nobody@example.test")
    assert rc == 1 and "no agent with the email" in err
    conn = await asyncpg.connect(server.settings.database_url)
    try:
        audited = [
            tuple(r)
            for r in await conn.fetch(
                "SELECT actor_name, action, target_kind FROM audit_log ORDER BY id"
            )
        ]
    finally:
        await conn.close()
    assert audited == [
        ("command line", "agent.password_set", "agent"),
        ("command line", "agent.unlock", "agent"),
    ]
