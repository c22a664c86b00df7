"""Presence writes in pipelined batches, on the real Valkey: a heartbeat renews every local
connection in a round trip per batch, a storm of departures never waits on the Redis pool, and
an agent goes offline exactly once, when their last socket leaves."""

from __future__ import annotations

import asyncio
import math
import uuid
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import pytest_asyncio

from server.actions.context import Services
from server.actions.presence_updates import BATCH, PresenceUpdates
from server.api.keys import SERVICES
from server.config import Settings
from server.core.events import Event
from server.core.models import PresenceStatus
from tests.support import RunningServer, create_agent, start_server


class PresenceEvents:
    """Records the `presence` events the actions publish, passing everything on."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.seen: list[tuple[str, str]] = []

    async def publish(self, event: Event) -> None:
        if event.name == "presence":
            wire = event.wire()
            self.seen.append((str(wire["agent_id"]), str(wire["status"])))
        await self.inner.publish(event)


@pytest_asyncio.fixture
async def running(settings: Settings) -> AsyncIterator[RunningServer]:
    server = await start_server(settings)
    try:
        yield server
    finally:
        await server.stop()


def _services(server: RunningServer) -> tuple[Services, PresenceEvents]:
    services: Services = server.app[SERVICES]
    events = PresenceEvents(services.publisher)
    services.publisher = events
    return services, events


async def _written(updates: PresenceUpdates) -> None:
    """Everything queued so far has been written and announced (an empty heartbeat waits for
    the writes queued before it: the queue keeps order)."""
    await updates.refresh([], [])


async def _scores(services: Services, key: str) -> dict[str, float]:
    pairs = await services.redis.zrange(key, 0, -1, withscores=True)
    return {(m.decode() if isinstance(m, bytes) else m): s for m, s in pairs}


async def test_many_sockets_of_one_agent_go_offline_exactly_once(
    running: RunningServer, settings: Settings
) -> None:
    services, events = _services(running)
    agent_id = await create_agent(settings.database_url or "", name="Many tabs")
    updates = PresenceUpdates(services)
    sockets = [f"p1:s{i}" for i in range(1200)]

    await asyncio.gather(*(updates.agent_connected(agent_id, c) for c in sockets))
    assert events.seen == [(str(agent_id), "online")]
    assert (await services.presence.status(agent_id))[0] is PresenceStatus.ONLINE
    connects = updates.round_trips

    # All but one leave at once: still online, nothing announced.
    for connection in sockets[:-1]:
        updates.agent_disconnected(agent_id, connection)
    await _written(updates)
    assert events.seen == [(str(agent_id), "online")]
    assert (await services.presence.status(agent_id))[0] is PresenceStatus.ONLINE
    assert list(await _scores(services, services.keys.agent_connections(agent_id))) == [sockets[-1]]

    # The last one leaves: offline, announced once.
    updates.agent_disconnected(agent_id, sockets[-1])
    await _written(updates)
    assert events.seen == [(str(agent_id), "online"), (str(agent_id), "offline")]
    assert (await services.presence.status(agent_id))[0] is PresenceStatus.OFFLINE
    assert agent_id not in await services.presence.online_agent_ids()
    assert await _scores(services, services.keys.agent_connections(agent_id)) == {}
    # 1,199 departures, then one: a round trip per batch, not per socket.
    assert updates.round_trips - connects == math.ceil(1199 / BATCH) + 1
    assert updates.failed == 0
    await updates.close()


async def test_a_heartbeat_renews_every_connection_in_a_round_trip_per_batch(
    running: RunningServer, settings: Settings
) -> None:
    services, events = _services(running)
    agents = [await create_agent(settings.database_url or "", name=f"A{i}") for i in range(3)]
    customers = [uuid.uuid4() for _ in range(4)]
    updates = PresenceUpdates(services)
    agent_sockets = [(a, f"p1:a{i}-{n}") for i, a in enumerate(agents) for n in range(200)]
    customer_sockets = [(c, f"p1:c{i}-{n}") for i, c in enumerate(customers) for n in range(150)]
    await asyncio.gather(
        *(updates.agent_connected(a, c) for a, c in agent_sockets),
        *(updates.customer_connected(c, s) for c, s in customer_sockets),
    )
    index = services.keys.presence_expiry_index("agent")
    before = await _scores(services, index)
    customer_index = services.keys.presence_expiry_index("customer")
    customers_before = await _scores(services, customer_index)
    trips = updates.round_trips

    await updates.refresh(agent_sockets, customer_sockets)

    after = await _scores(services, index)
    customers_after = await _scores(services, customer_index)
    assert set(after) == set(before) and len(after) == 600
    assert all(after[member] > before[member] for member in before)
    assert set(customers_after) == set(customers_before) and len(customers_after) == 600
    assert all(customers_after[m] > customers_before[m] for m in customers_before)
    # 600 agent refreshes, then 600 customer ones: a round trip per batch of each kind.
    assert 600 % BATCH == 0
    assert updates.round_trips - trips == 2 * (600 // BATCH)
    # Nothing changed, so nothing was announced beyond the three agents coming online.
    assert sorted(events.seen) == sorted((str(a), "online") for a in agents)
    await updates.close()


async def test_a_heartbeat_never_brings_back_a_socket_that_left_after_it_was_read(
    running: RunningServer, settings: Settings
) -> None:
    services, events = _services(running)
    agent_id = await create_agent(settings.database_url or "", name="Leaver")
    updates = PresenceUpdates(services)
    await updates.agent_connected(agent_id, "p1:s1")
    # The heartbeat read the socket; it leaves before the heartbeat's writes go out.
    heartbeat = asyncio.ensure_future(updates.refresh([(agent_id, "p1:s1")], []))
    updates.agent_disconnected(agent_id, "p1:s1")
    await heartbeat
    await _written(updates)
    assert (await services.presence.status(agent_id))[0] is PresenceStatus.OFFLINE
    assert await _scores(services, services.keys.agent_connections(agent_id)) == {}
    assert events.seen == [(str(agent_id), "online"), (str(agent_id), "offline")]
    await updates.close()


async def test_customers_whose_last_socket_left_are_offline(running: RunningServer) -> None:
    services, _ = _services(running)
    updates = PresenceUpdates(services)
    staying, leaving = uuid.uuid4(), uuid.uuid4()
    sockets: list[tuple[UUID, str]] = [
        (customer, f"p1:{customer.hex[:6]}-{n}")
        for customer in (staying, leaving)
        for n in range(300)
    ]
    await asyncio.gather(*(updates.customer_connected(c, s) for c, s in sockets))
    for customer, connection in sockets:
        if customer == leaving or not connection.endswith("-0"):
            updates.customer_disconnected(customer, connection)
    await _written(updates)
    assert (await services.customer_presence.status(leaving))[0] is PresenceStatus.OFFLINE
    assert (await services.customer_presence.status(staying))[0] is PresenceStatus.ONLINE
    assert list(await _scores(services, services.keys.customer_connections(staying))) == [
        f"p1:{staying.hex[:6]}-0"
    ]
    assert updates.failed == 0
    await updates.close()
