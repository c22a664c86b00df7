"""A rolling restart behind nginx (the project's own configuration): two processes, customers
and agents on both, both sides writing; one process restarts, then the other. Nobody is lost:
no message lost or doubled, no chat requeued, every client back within 5 s."""

from __future__ import annotations

import asyncio
import signal
import uuid
from pathlib import Path

import asyncpg

from server.config import Settings
from tests.e2e.nginx_support import start_nginx, upstream_of
from tests.e2e.resilience_support import LiveChat, live_chat
from tests.support import ServerProcess, spawn_server


async def _restart(process: ServerProcess, settings: Settings) -> ServerProcess:
    process.process.send_signal(signal.SIGTERM)
    await asyncio.to_thread(process.process.wait, settings.drain_seconds + 2)
    assert process.process.returncode == 0
    return await spawn_server(settings, port=process.port)


async def _assignments(database_url: str, chats: list[LiveChat]) -> dict[str, object]:
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT id, assigned_agent_id FROM conversations WHERE id = ANY ($1::uuid[])",
            [uuid.UUID(c.conversation_id) for c in chats],
        )
        requeued = await conn.fetchval(
            "SELECT count(*) FROM assignment_events WHERE kind = 'requeued'"
        )
    finally:
        await conn.close()
    return {"assigned": {str(r["id"]): r["assigned_agent_id"] for r in rows}, "requeued": requeued}


async def test_rolling_restart_behind_nginx_loses_nobody(
    settings: Settings, tmp_path: Path
) -> None:
    # Production presence timing: agents whose process restarts are moving, not gone.
    settings = settings.with_overrides(presence_ttl_seconds=30.0, presence_heartbeat_seconds=10.0)
    processes = list(await asyncio.gather(spawn_server(settings), spawn_server(settings)))
    nginx = await start_nginx(tmp_path / "nginx", [p.port for p in processes])
    chats: list[LiveChat] = []
    try:
        # Clients come from different loopback addresses; nginx hashes them onto the processes.
        routed = await upstream_of(nginx, [f"127.0.0.{n}" for n in range(2, 30)])
        on = {p.port: [a for a, port in routed.items() if port == p.port] for p in processes}
        first, second = (on[p.port] for p in processes)
        assert len(first) >= 2 and len(second) >= 2, routed
        # Each chat crosses processes; each process holds a customer and an agent.
        for customer_address, agent_address in ((first[0], second[0]), (second[1], first[1])):
            chats.append(
                await live_chat(
                    settings.database_url,
                    nginx.url,
                    nginx.url,
                    customer_address=customer_address,
                    agent_address=agent_address,
                )
            )
        before = await _assignments(settings.database_url, chats)

        over = asyncio.Event()
        started = [asyncio.Event() for _ in chats]
        talkers = asyncio.gather(
            *(chat.talk_until(over, go, before=10) for chat, go in zip(chats, started, strict=True))
        )
        for go in started:
            await go.wait()
        for index in range(len(processes)):
            processes[index] = await _restart(processes[index], settings)
            for chat in chats:  # everyone is back before the next process restarts
                await chat.customer.wait_ready(timeout=5)
                await chat.agent.wait_ready(timeout=5)
        over.set()
        await asyncio.wait_for(talkers, 60)

        for chat in chats:
            await chat.assert_exactly_once()
        clients = [side for chat in chats for side in (chat.customer, chat.agent)]
        # Everybody was moved at least once (both processes restarted), and came back fast.
        assert all(client.outages for client in clients)
        worst = max(outage for client in clients for outage in client.outages)
        assert worst < 5.0, [(c.namespace, c.outages) for c in clients]
        assert all("server disconnect" not in c.disconnect_reasons for c in clients)
        after = await _assignments(settings.database_url, chats)
        assert after == before and after["requeued"] == 0
        print(
            f"\nrolling restart: worst time away {worst:.2f} s, "
            f"{sum(len(c.sent) for c in chats)} messages"
        )
    finally:
        for chat in chats:
            await chat.close()
        nginx.stop()
        for process in processes:
            process.stop()
