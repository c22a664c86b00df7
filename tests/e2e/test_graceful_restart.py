"""A stopping process drains: it answers what is in flight, refuses new work with a retryable
answer, and closes its sockets so that every client reconnects and resumes by itself."""

from __future__ import annotations

import asyncio
import signal
import time
import uuid

import aiohttp
import asyncpg

from server.api.keys import DRAIN
from server.config import Settings
from tests.e2e.resilience_support import ResumingClient
from tests.support import RunningServer, agent, create_agent, customer, login, spawn_server


async def test_a_draining_process_is_not_ready_and_refuses_new_work(server: RunningServer) -> None:
    cust = await customer(server.url)
    conversation_id = (await cust.ok("start_conversation", {}))["conversation"]["id"]
    server.app[DRAIN].begin()

    async with aiohttp.ClientSession() as http:
        async with http.get(f"{server.url}/readyz") as r:
            body = await r.json()
            assert r.status == 503 and body["checks"]["process"] == "draining"
        # A new Engine.IO session is refused with a status every client retries.
        async with http.get(f"{server.url}/socket.io/?EIO=4&transport=polling") as r:
            assert r.status == 503 and r.headers["Retry-After"] == "1"

    ack = await cust.call(
        "send_message", {"conversation_id": conversation_id, "client_id": "late", "body": "hi"}
    )
    assert ack["ok"] is False and ack["error"]["code"] == "unavailable"
    conn = await asyncpg.connect(server.settings.database_url)
    try:
        stored = await conn.fetchval(
            "SELECT count(*) FROM messages WHERE conversation_id = $1", uuid.UUID(conversation_id)
        )
    finally:
        await conn.close()
    assert stored == 0
    await cust.close()


async def test_sigterm_moves_every_client_without_losing_a_message(settings: Settings) -> None:
    # Production presence timing: an agent whose process restarts is moving, not gone.
    settings = settings.with_overrides(presence_ttl_seconds=30.0, presence_heartbeat_seconds=10.0)
    first, other = await asyncio.gather(spawn_server(settings), spawn_server(settings))
    restarted = None
    try:
        robin = await create_agent(settings.database_url, email="robin@example.test", name="Robin")
        await create_agent(
            settings.database_url, email="watcher@example.test", name="Watcher", teams=()
        )
        robin_token = await login(first.url, "robin@example.test")
        # A colleague on the process that stays up sees every presence change of Robin's.
        watcher = await agent(other.url, await login(other.url, "watcher@example.test"))
        # Robin is online on the first process before the customer writes: the chat is his.
        staff = ResumingClient(first.url, "/agent", robin_token)
        await staff.connect()
        probe = await customer(other.url)
        visitor = (await probe.ok("session"))["visitor_token"]
        started = await probe.ok("start_conversation", {"name": "Casey"})
        conversation_id = started["conversation"]["id"]
        await probe.close()
        conn = await asyncpg.connect(settings.database_url)
        try:
            assigned = await conn.fetchval(
                "SELECT assigned_agent_id FROM conversations WHERE id = $1",
                uuid.UUID(conversation_id),
            )
        finally:
            await conn.close()
        assert assigned == robin
        await staff.follow(conversation_id)
        cust = ResumingClient(other.url, "/customer", visitor, conversation_id)
        await cust.start()

        total = 40
        stop_after = 10

        async def talk(side: ResumingClient, who: str) -> None:
            for i in range(total // 2):
                await side.send(f"{who}{i}", f"{who}-{i}")

        talkers = asyncio.gather(talk(cust, "c"), talk(staff, "a"))
        await cust.wait_count(stop_after)
        began = time.monotonic()
        first.process.send_signal(signal.SIGTERM)
        await asyncio.to_thread(first.process.wait, 12.0)
        stopped_in = time.monotonic() - began
        assert first.process.returncode == 0
        assert stopped_in < settings.drain_seconds + 2
        restarted = await spawn_server(settings, port=first.port)
        back = time.monotonic()
        await staff.wait_ready(timeout=5)
        assert time.monotonic() - back < 5
        await asyncio.wait_for(talkers, 30)

        expected = list(range(1, total + 1))
        for side in (cust, staff):
            await side.wait_count(total)
        # One more message, delivered after everything else: the count is final.
        await staff.send("last", "a-last")
        for side in (cust, staff):
            await side.wait_count(total + 1)
            assert side.seqs == [*expected, total + 1]
        assert "server disconnect" not in staff.disconnect_reasons
        assert staff.connects == 2

        conn = await asyncpg.connect(settings.database_url)
        try:
            stored = await conn.fetch(
                "SELECT seq, client_id FROM messages WHERE conversation_id = $1 ORDER BY seq",
                uuid.UUID(conversation_id),
            )
            requeued = await conn.fetchval(
                "SELECT count(*) FROM assignment_events WHERE conversation_id = $1 AND kind = 'requeued'",
                uuid.UUID(conversation_id),
            )
            still = await conn.fetchval(
                "SELECT assigned_agent_id FROM conversations WHERE id = $1",
                uuid.UUID(conversation_id),
            )
        finally:
            await conn.close()
        assert [r["seq"] for r in stored] == [*expected, total + 1]
        assert len({r["client_id"] for r in stored}) == total + 1
        assert requeued == 0 and still == robin
        # Robin was moving, not gone: never offline (the drain would have announced it seconds
        # ago, before the restart and all the messages since).
        presence = watcher.log.of("presence")
        assert [
            e for e in presence if e["agent_id"] == str(robin) and e["status"] != "online"
        ] == []
        await watcher.close()
        await cust.close()
        await staff.close()
    finally:
        first.stop()
        other.stop()
        if restarted is not None:
            restarted.stop()
