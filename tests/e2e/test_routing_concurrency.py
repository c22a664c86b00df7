"""Many customers and agents at once, across two real server processes: every conversation is
assigned exactly once, and no agent is ever over capacity, checked continuously."""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
import pytest_asyncio

from server.config import Settings
from tests.e2e.routing_support import eventually
from tests.support import ServerProcess, agent, create_agent, customer, login, spawn_server

CUSTOMERS = 60
_SAMPLE_SECONDS = 0.01  # how often the capacity watcher looks
AGENTS = 6


@pytest_asyncio.fixture
async def pair(settings: Settings) -> AsyncIterator[tuple[ServerProcess, ServerProcess]]:
    tuned = settings.with_overrides(unanswered_seconds=0, reconcile_seconds=3600)
    first, second = await asyncio.gather(spawn_server(tuned), spawn_server(tuned))
    yield first, second
    first.stop()
    second.stop()


async def _watch_capacity(
    dsn: str, capacities: dict[uuid.UUID, int], stop: asyncio.Event, violations: list[str]
) -> int:
    conn = await asyncpg.connect(dsn)
    checks = 0
    try:
        while not stop.is_set():
            rows = await conn.fetch(
                """
                SELECT assigned_agent_id, count(*) AS n FROM conversations
                 WHERE status = 'open' AND assigned_agent_id IS NOT NULL GROUP BY 1
                """
            )
            for row in rows:
                if row["n"] > capacities[row["assigned_agent_id"]]:
                    violations.append(f"{row['assigned_agent_id']} has {row['n']}")
            checks += 1
            # Sample again soon; stop as soon as the test says so.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), _SAMPLE_SECONDS)
    finally:
        await conn.close()
    return checks


@pytest.mark.parametrize("seed", [7, 1234])
async def test_every_conversation_assigned_once_and_capacity_never_exceeded(
    settings: Settings, pair: tuple[ServerProcess, ServerProcess], seed: int
) -> None:
    rng = random.Random(seed)
    urls = [pair[0].url, pair[1].url]
    capacities: dict[uuid.UUID, int] = {}
    agents = []
    for index in range(AGENTS):
        email = f"agent{index}-{seed}@example.test"
        capacity = rng.randint(1, 3)
        agent_id = await create_agent(
            settings.database_url, email=email, name=f"Agent {index}", max_chats=capacity
        )
        capacities[agent_id] = capacity
        agents.append((agent_id, await login(rng.choice(urls), email)))

    stop = asyncio.Event()
    violations: list[str] = []
    watcher = asyncio.create_task(
        _watch_capacity(settings.database_url, capacities, stop, violations)
    )

    async def work_as(agent_id: uuid.UUID, token: str, delay: float) -> None:
        await asyncio.sleep(delay)
        client = await agent(rng.choice(urls), token)
        handled: set[str] = set()

        async def resolve_later(conversation_id: str) -> None:
            await asyncio.sleep(rng.uniform(0.05, 0.4))
            ack = await client.call("resolve", {"conversation_id": conversation_id})
            assert ack["ok"], ack

        pending = []
        try:
            while not stop.is_set():
                try:  # the next assignment, or a look at `stop` every half second
                    await client.log.wait_for("assigned", count=len(handled) + 1, timeout=0.5)
                except TimeoutError:
                    continue
                for event in client.log.of("assigned"):
                    conversation_id = event["conversation"]["id"]
                    if conversation_id not in handled:
                        handled.add(conversation_id)
                        pending.append(asyncio.create_task(resolve_later(conversation_id)))
            await asyncio.gather(*pending)
        finally:
            await client.close()

    async def arrive(index: int) -> str:
        await asyncio.sleep(rng.uniform(0, 0.3))
        cust = await customer(rng.choice(urls))
        started = await cust.ok("start_conversation", {"name": f"Customer {index}"})
        await cust.close()  # leaving does not abandon: abandon_seconds is far longer
        return started["conversation"]["id"]

    workers = [asyncio.create_task(work_as(a, t, rng.uniform(0, 0.3))) for a, t in agents]
    conversation_ids = await asyncio.gather(*(arrive(i) for i in range(CUSTOMERS)))

    conn = await asyncpg.connect(settings.database_url)
    try:

        async def all_served() -> bool:
            done = await conn.fetchval(
                "SELECT count(*) FROM conversations WHERE id = ANY ($1::uuid[]) AND status = 'resolved'",
                [uuid.UUID(c) for c in conversation_ids],
            )
            return done == CUSTOMERS

        # Every queued conversation is eventually assigned and served.
        await eventually(all_served, timeout=30)
        stop.set()
        await asyncio.gather(*workers)
        checks = await watcher
        assignments = await conn.fetch(
            """
            SELECT conversation_id, count(*) AS n FROM assignment_events
             WHERE kind = 'assigned' AND conversation_id = ANY ($1::uuid[]) GROUP BY 1
            """,
            [uuid.UUID(c) for c in conversation_ids],
        )
    finally:
        await conn.close()
    assert violations == [], violations
    assert checks > 20, "the capacity watcher really ran during the test"
    assert len(assignments) == CUSTOMERS
    assert all(row["n"] == 1 for row in assignments), "no conversation was assigned twice"
