"""Routing benchmark: backlog drain rate in one process, and start-to-assignment latency across
two server processes. Real PostgreSQL and Valkey (embedded), real sockets.

    python bench/routing.py [--agents 100] [--backlog 2000] [--customers 400] [--rate 100]

Prints one JSON document; docs/performance.md records the numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import socketio
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from server.actions import routing
from server.api.keys import SERVICES
from server.app import create_app
from server.config import load_settings
from server.embedded import EmbeddedPostgres, EmbeddedValkey
from server.store.migrations import migrate_dsn

SECRET = "bench-secret-key-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def seed_agents(dsn: str, count: int, max_chats: int) -> list[tuple[uuid.UUID, str]]:
    from server.auth.passwords import hash_password

    password_hash = await hash_password("bench-password")
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "INSERT INTO teams (slug, name, is_default) VALUES "
            "('support', 'Support', true) ON CONFLICT DO NOTHING"
        )
        agents = []
        for index in range(count):
            email = f"bench{index}-{uuid.uuid4().hex[:6]}@example.test"
            agent_id = await conn.fetchval(
                "INSERT INTO agents (email, display_name, password_hash, max_chats) "
                "VALUES ($1, $2, $3, $4) RETURNING id",
                email,
                f"Agent {index}",
                password_hash,
                max_chats,
            )
            await conn.execute(
                "INSERT INTO agent_teams SELECT $1, id FROM teams WHERE is_default", agent_id
            )
            agents.append((agent_id, email))
        return agents
    finally:
        await conn.close()


async def new_conversations(dsn: str, count: int) -> list[uuid.UUID]:
    """Open conversations of new anonymous customers, not yet in any line."""
    conn = await asyncpg.connect(dsn)
    try:
        ids = []
        for _ in range(count):
            customer_id = uuid.uuid4()
            await conn.execute("INSERT INTO customers (id) VALUES ($1)", customer_id)
            ids.append(
                await conn.fetchval(
                    "INSERT INTO conversations (customer_id) VALUES ($1) RETURNING id", customer_id
                )
            )
        return ids
    finally:
        await conn.close()


async def backlog_drain(
    dsn: str, redis_url: str, data_dir: Path, agents: int, backlog: int
) -> dict:
    """Conversations wait with every agent offline; all agents come online; time the drain."""
    settings = load_settings(
        environ={},
        database_url=dsn,
        redis_url=redis_url,
        data_dir=data_dir,
        secret_key=SECRET,
        redis_prefix=f"b{uuid.uuid4().hex[:6]}:",
        create_demo_accounts=False,
        reconcile_seconds=3600,
        unanswered_seconds=0,
        db_pool_max=10,
        max_connections_per_address=0,
    )
    runner = web.AppRunner(create_app(settings), handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", free_port()).start()
    services = runner.app[SERVICES]
    try:
        seeded = await seed_agents(dsn, agents, max_chats=backlog // agents + 1)
        conversation_ids = await new_conversations(dsn, backlog)
        started = time.perf_counter()
        for conversation_id in conversation_ids:
            await routing.enqueue(services, conversation_id)
        enqueue_seconds = time.perf_counter() - started
        team = await routing.team_for(services, None)
        assert team is not None
        for agent_id, _ in seeded:
            await services.presence.connect(agent_id, f"bench:{agent_id}")
            await routing.register_agent(services, agent_id)
        started = time.perf_counter()
        assigned = await routing.drain(services, team.id)
        while await services.routing.waiting(team.id, 1):
            assigned += await routing.drain(services, team.id)
        drain_seconds = time.perf_counter() - started
        step_ms = await routing_step(services, dsn, samples=300)
        return {
            "agents": agents,
            "backlog": backlog,
            "enqueue_per_second_no_agents": round(backlog / enqueue_seconds),
            "assigned": assigned,
            "drain_seconds": round(drain_seconds, 2),
            "assignments_per_second": round(assigned / drain_seconds),
            "routing_step_ms_p50": round(statistics.median(step_ms), 2),
            "routing_step_ms_p99": round(percentile(step_ms, 99), 2),
        }
    finally:
        await runner.cleanup()


async def routing_step(services, dsn: str, samples: int) -> list[float]:
    """One conversation at a time enters an empty line with agents free: the time from entering
    the line to being assigned (PostgreSQL records, Redis claims, events published)."""
    conn = await asyncpg.connect(dsn)
    await conn.execute("UPDATE agents SET max_chats = 1000")
    for agent_id in await conn.fetch("SELECT id FROM agents"):
        await routing.register_agent(services, agent_id["id"])
    await conn.close()
    conversation_ids = await new_conversations(dsn, samples)
    timings = []
    for conversation_id in conversation_ids:
        started = time.perf_counter()
        await routing.enqueue(services, conversation_id)
        timings.append((time.perf_counter() - started) * 1000)
        await asyncio.sleep(0.002)  # let the announcements of the previous one run, as in life
    return timings


def spawn(dsn: str, redis_url: str, data_dir: Path, prefix: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": dsn,
        "REDIS_URL": redis_url,
        "PARLEY_SECRET_KEY": SECRET,
        "PARLEY_REDIS_PREFIX": prefix,
        "PARLEY_DATA_DIR": str(data_dir),
        "PARLEY_DEMO_ACCOUNTS": "false",
        "PARLEY_LOG_LEVEL": "WARNING",
        "PORT": str(port),
        "PARLEY_UNANSWERED_TIMEOUT": "0",
        "PARLEY_KB_DEMO": "false",
        "PARLEY_DB_POOL_MAX": "20",
        # Every simulated client connects from 127.0.0.1.
        "PARLEY_ALLOW_ANY_ORIGIN": "true",
        "PARLEY_MAX_CONNECTIONS_PER_ADDRESS": "0",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "server", "serve"], env=env, cwd=Path(__file__).resolve().parents[1]
    )
    return process, f"http://127.0.0.1:{port}"


async def wait_ready(url: str) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as http:
        for _ in range(300):
            try:
                async with http.get(f"{url}/readyz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise TimeoutError(url)


async def start_to_assignment(
    dsn: str, redis_url: str, data_dir: Path, agents: int, customers: int, rate: float
) -> dict:
    """Customers start conversations at a steady rate on two processes; agents on both."""
    import aiohttp

    prefix = f"b{uuid.uuid4().hex[:6]}:"
    processes = [spawn(dsn, redis_url, data_dir, prefix) for _ in range(2)]
    try:
        for _, url in processes:
            await wait_ready(url)
        urls = [url for _, url in processes]
        seeded = await seed_agents(dsn, agents, max_chats=customers)
        assigned_at: dict[str, float] = {}
        clients = []
        async with aiohttp.ClientSession() as http:
            for index, (_, email) in enumerate(seeded):
                async with http.post(
                    f"{urls[index % 2]}/api/v1/auth/login",
                    json={"email": email, "password": "bench-password"},
                ) as r:
                    token = (await r.json())["data"]["token"]
                client = socketio.AsyncClient(reconnection=False)

                async def on_assigned(data, _client=client) -> None:
                    assigned_at.setdefault(data["conversation"]["id"], time.perf_counter())

                client.on("assigned", on_assigned, namespace="/agent")
                await client.connect(
                    urls[index % 2],
                    namespaces=["/agent"],
                    auth={"token": token},
                    transports=["websocket"],
                )
                clients.append(client)
        await asyncio.sleep(1.0)
        started_at: dict[str, float] = {}
        ack_ms: list[float] = []

        failures: list[str] = []

        async def one_customer(index: int) -> None:
            client = socketio.AsyncClient(reconnection=False)
            try:
                await client.connect(
                    urls[index % 2],
                    namespaces=["/customer"],
                    transports=["websocket"],
                    wait_timeout=10,
                )
                t0 = time.perf_counter()
                ack = await client.call("start_conversation", {}, namespace="/customer", timeout=30)
                ack_ms.append((time.perf_counter() - t0) * 1000)
                started_at[ack["data"]["conversation"]["id"]] = t0
            except Exception as exc:  # counted and reported, not fatal to the run
                failures.append(type(exc).__name__)
            finally:
                await client.disconnect()

        began = time.perf_counter()
        tasks = []
        for index in range(customers):
            tasks.append(asyncio.create_task(one_customer(index)))
            await asyncio.sleep(1 / rate)
        await asyncio.gather(*tasks)
        for _ in range(200):
            if len(assigned_at) >= customers:
                break
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - began
        latencies = [
            (assigned_at[c] - t0) * 1000 for c, t0 in started_at.items() if c in assigned_at
        ]
        for client in clients:
            await client.disconnect()
        return {
            "processes": 2,
            "agents": agents,
            "customers": customers,
            "offered_rate_per_second": rate,
            "assigned": len(latencies),
            "customer_failures": len(failures),
            "throughput_per_second": round(len(latencies) / elapsed, 1),
            "start_ack_ms_p50": round(statistics.median(ack_ms), 1),
            "start_ack_ms_p99": round(percentile(ack_ms, 99), 1),
            "start_to_assigned_ms_p50": round(statistics.median(latencies), 1),
            "start_to_assigned_ms_p99": round(percentile(latencies, 99), 1),
        }
    finally:
        for process, _ in processes:
            process.terminate()
        for process, _ in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


@contextlib.asynccontextmanager
async def embedded_services() -> AsyncIterator[tuple[EmbeddedPostgres, str, str, Path]]:
    """A throwaway embedded PostgreSQL (fsync off, migrated) and Valkey for one bench run:
    (postgres, its DSN, the Redis URL, the run's directory)."""
    base = Path(tempfile.mkdtemp(prefix="parley-bench-"))
    base.chmod(0o755)  # noqa: ASYNC240 - once, before anything runs
    postgres = EmbeddedPostgres(base / "postgres", durable=False)
    valkey = EmbeddedValkey(base / "valkey")
    try:
        dsn, redis_url = postgres.start(), valkey.start()
        await migrate_dsn(dsn)
        yield postgres, dsn, redis_url, base
    finally:
        valkey.stop()
        postgres.stop()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--agents", type=int, default=100)
    parser.add_argument("--backlog", type=int, default=2000)
    parser.add_argument("--customers", type=int, default=400)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument(
        "--parts", default="drain,live", help="drain, live, or both (comma-separated)"
    )
    args = parser.parse_args()
    async with embedded_services() as (postgres, dsn, redis_url, base):
        parts = set(args.parts.split(","))
        report = {}
        if "drain" in parts:
            report["backlog_drain"] = await backlog_drain(
                dsn, redis_url, base, args.agents, args.backlog
            )
        if "live" in parts:
            fresh = postgres.create_database("bench_two")
            await migrate_dsn(fresh)
            report["start_to_assignment"] = await start_to_assignment(
                fresh, redis_url, base, args.agents, args.customers, args.rate
            )
        print(json.dumps(report, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
