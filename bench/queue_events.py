"""Queue-event latency across two server processes: how long a waiting customer's place takes
to reach them, when they join the line and every time the line moves. Real PostgreSQL and
Valkey (embedded), real sockets.

    python bench/queue_events.py [--waiting 100] [--steps 30]

Customers start conversations alternately on two `parley serve` processes while no agent is
online; one agent (capacity 1) then comes online and works through the line: each resolve frees
the seat, the next customer is assigned, and everyone behind moves up one place. Measured:

- joined: from sending `start_conversation` to the first `queue` event for that conversation;
- moved: from the agent's `resolve` to each waiting customer's `queue` event with their new
  place (every customer, on both processes, at every step).

Prints one JSON document; docs/performance.md records the numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
import uuid
from pathlib import Path

import aiohttp
import socketio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.routing import embedded_services, percentile, seed_agents, spawn, wait_ready


class Line:
    """What the waiting customers heard: per conversation, each place and when it arrived."""

    def __init__(self) -> None:
        self.heard: dict[str, list[tuple[float, int]]] = {}
        self.changed = asyncio.Event()

    def on_queue(self, data: dict) -> None:
        heard = self.heard.setdefault(data["conversation_id"], [])
        heard.append((time.perf_counter(), data["position"]))
        self.changed.set()

    def first(self, conversation_id: str) -> float | None:
        heard = self.heard.get(conversation_id)
        return heard[0][0] if heard else None

    def when_at(self, conversation_id: str, position: int, after: float) -> float | None:
        for at, place in self.heard.get(conversation_id, []):
            if at >= after and place == position:
                return at
        return None

    async def until(self, done, within: float) -> bool:
        deadline = time.perf_counter() + within
        while not done():
            self.changed.clear()
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                return False
            try:
                await asyncio.wait_for(self.changed.wait(), remaining)
            except TimeoutError:
                return done()
        return True


async def customers_join(
    urls: list[str], line: Line, count: int
) -> tuple[list[socketio.AsyncClient], list[str], list[float]]:
    clients, order, joined_ms = [], [], []
    for index in range(count):
        client = socketio.AsyncClient(reconnection=False)
        client.on("queue", line.on_queue, namespace="/customer")
        await client.connect(
            urls[index % 2], namespaces=["/customer"], transports=["websocket"], wait_timeout=10
        )
        sent = time.perf_counter()
        ack = await client.call("start_conversation", {}, namespace="/customer", timeout=30)
        conversation_id = ack["data"]["conversation"]["id"]
        if await line.until(lambda c=conversation_id: line.first(c) is not None, within=10):
            joined_ms.append((line.first(conversation_id) - sent) * 1000)  # type: ignore[operator]
        clients.append(client)
        order.append(conversation_id)
    return clients, order, joined_ms


async def agent_online(url: str, email: str, assigned: asyncio.Queue) -> socketio.AsyncClient:
    credentials = {"email": email, "password": "bench-password"}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{url}/api/v1/auth/login", json=credentials) as r,
    ):
        token = (await r.json())["data"]["token"]
    client = socketio.AsyncClient(reconnection=False)

    async def on_assigned(data: dict) -> None:
        await assigned.put(data["conversation"]["id"])

    client.on("assigned", on_assigned, namespace="/agent")
    await client.connect(
        url, namespaces=["/agent"], auth={"token": token}, transports=["websocket"]
    )
    return client


async def run(dsn: str, redis_url: str, data_dir: Path, waiting: int, steps: int) -> dict:
    prefix = f"q{uuid.uuid4().hex[:6]}:"
    processes = [spawn(dsn, redis_url, data_dir, prefix) for _ in range(2)]
    clients: list[socketio.AsyncClient] = []
    try:
        urls = [url for _, url in processes]
        for url in urls:
            await wait_ready(url)
        [(_, email)] = await seed_agents(dsn, 1, max_chats=1)
        line = Line()
        clients, order, joined_ms = await customers_join(urls, line, waiting)
        assigned: asyncio.Queue[str] = asyncio.Queue()
        staff = await agent_online(urls[0], email, assigned)
        clients.append(staff)
        current = await asyncio.wait_for(assigned.get(), 10)
        remaining = order[order.index(current) + 1 :]
        moved_ms: list[float] = []
        slowest_ms: list[float] = []
        missed = 0
        for _ in range(min(steps, len(remaining) - 1)):
            sent = time.perf_counter()
            await staff.call(
                "resolve", {"conversation_id": current}, namespace="/agent", timeout=10
            )
            current = await asyncio.wait_for(assigned.get(), 10)
            remaining = remaining[remaining.index(current) + 1 :]
            expected = {c: place for place, c in enumerate(remaining, start=1)}

            def all_heard(expected: dict[str, int] = expected, sent: float = sent) -> bool:
                return all(line.when_at(c, p, sent) is not None for c, p in expected.items())

            await line.until(all_heard, within=10)
            step = []
            for conversation_id, place in expected.items():
                at = line.when_at(conversation_id, place, sent)
                if at is None:
                    missed += 1
                else:
                    step.append((at - sent) * 1000)
            moved_ms += step
            if step:
                slowest_ms.append(max(step))
        return {
            "processes": 2,
            "waiting": waiting,
            "steps": len(slowest_ms),
            "joined_ms_p50": round(statistics.median(joined_ms), 1),
            "joined_ms_p99": round(percentile(joined_ms, 99), 1),
            "moved_ms_p50": round(statistics.median(moved_ms), 1),
            "moved_ms_p99": round(percentile(moved_ms, 99), 1),
            "moved_last_customer_ms_p50": round(statistics.median(slowest_ms), 1),
            "place_updates_missed": missed,
        }
    finally:
        for client in clients:
            await client.disconnect()
        for process, _ in processes:
            process.terminate()
        for process, _ in processes:
            process.wait(timeout=30)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--waiting", type=int, default=100)
    parser.add_argument("--steps", type=int, default=30)
    args = parser.parse_args()
    async with embedded_services() as (_, dsn, redis_url, base):
        report = await run(dsn, redis_url, base, args.waiting, args.steps)
    print(json.dumps({"queue_events": report}, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
