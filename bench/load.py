"""One load-generator process of bench/throughput.py: many raw Socket.IO clients on one loop.

It reads one JSON command per line on stdin and answers each with one JSON line on stdout:

- `setup`: sign in its agents over REST, connect its customer/agent pairs (each customer starts
  its own conversation, its agent `join`s it) and any idle sockets;
- `point`: customers send messages at a paced total rate (open loop: message k leaves at
  start + k/rate whatever the server does) for a duration, then wait for the stragglers; the
  answer has every latency (scheduled send -> the agent's `message` event), the delivery
  checks (exactly once, in order per conversation) and this process's CPU;
- `storm` / `drop`: connect N more sockets all at once / close them all at once;
- `quit`.

Commands run concurrently, so a storm can hit while a point is running.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import resource
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import uvloop

from bench.idle_socket import IdleSocket
from bench.procstat import own_cpu_seconds
from bench.wire import Connection

PASSWORD = "bench-password"
# Setup is not what is measured: bounded, so that signing in hundreds of agents (argon2 on the
# server) or starting their conversations does not swamp the server at once.
SETUP_CONCURRENCY = 16
# How long a point waits for messages still in flight after its last send.
DRAIN_SECONDS = 10.0
# A storm's sockets start opening this many per event-loop turn (all within milliseconds).
STORM_SLICE = 100
# A live message slower than this after a storm's drop counts as the pairs still stalled.
SLOW_MS = 50.0


@dataclass
class Pair:
    customer: Connection
    agent: Connection
    conversation_id: str = ""
    order: dict[str, int] = field(default_factory=dict)  # client_id -> place in this point
    highest: int = -1


@dataclass
class Tally:
    """What one point saw; filled in from event callbacks."""

    scheduled: dict[str, float] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)
    delivered_at: list[float] = field(default_factory=list)
    duplicates: int = 0
    out_of_order: int = 0
    strays: int = 0
    acked: int = 0
    ack_errors: dict[str, int] = field(default_factory=dict)
    other_events: dict[str, int] = field(default_factory=dict)
    everything_in: asyncio.Event = field(default_factory=asyncio.Event)
    expected: int = -1
    dropped_at: float | None = None  # when a storm dropped during this point

    def stalled_after_drop_ms(self, slow_ms: float) -> float | None:
        """From the storm's drop to the last delivery slower than `slow_ms`: how long the live
        pairs took to recover (0 when nothing after the drop was slow)."""
        if self.dropped_at is None:
            return None
        slow = [
            at
            for at, latency in zip(self.delivered_at, self.latencies_ms, strict=True)
            if at >= self.dropped_at and latency > slow_ms
        ]
        return round((max(slow) - self.dropped_at) * 1000, 1) if slow else 0.0

    def error(self, code: str) -> None:
        self.ack_errors[code] = self.ack_errors.get(code, 0) + 1

    def answered(self, future: asyncio.Future[Any]) -> None:
        """A `send_message` ack (of this point, even when it arrives after the point)."""
        if future.cancelled() or future.exception() is not None:
            self.error("disconnected")
            return
        answer = future.result()
        if isinstance(answer, dict) and answer.get("ok"):
            self.acked += 1
        else:
            code = answer.get("error", {}).get("code") if isinstance(answer, dict) else None
            self.error(str(code))

    def sending(self, pair: Pair, client_id: str, place: int, due: float) -> None:
        pair.order[client_id] = place
        self.scheduled[client_id] = due

    def heard(self, client_id: Any, pair: Pair | None, now: float) -> None:
        """An agent's `message` event: exactly once, in sending order within its conversation."""
        if pair is None or client_id not in pair.order:
            self.strays += 1  # not sent to this conversation in this point
            return
        scheduled = self.scheduled.pop(client_id, None)
        if scheduled is None:
            self.duplicates += 1
            return
        self.latencies_ms.append((now - scheduled) * 1000)
        self.delivered_at.append(now)
        place = pair.order[client_id]
        if place < pair.highest:
            self.out_of_order += 1
        pair.highest = max(pair.highest, place)
        if len(self.latencies_ms) == self.expected:
            self.everything_in.set()


class Generator:
    def __init__(self) -> None:
        self.http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        self.pairs: list[Pair] = []
        self.by_conversation: dict[str, Pair] = {}
        self.idle: list[IdleSocket] = []
        self.storm: list[IdleSocket] = []
        self.tally = Tally()
        self.run_id = uuid.uuid4().hex[:8]
        self.sent_total = 0

    async def setup(
        self, pairs: list[dict[str, str]], idle: int, idle_url: str, routed: bool
    ) -> dict[str, Any]:
        started = time.monotonic()
        gate = asyncio.Semaphore(SETUP_CONCURRENCY)
        errors: list[str] = []

        async def one(spec: dict[str, str]) -> None:
            async with gate:
                try:
                    self._add(await self._pair(spec, routed))
                except Exception as exc:  # counted and reported: the table shows setup errors
                    errors.append(f"{type(exc).__name__}: {exc}"[:200])

        await asyncio.gather(*(one(spec) for spec in pairs))
        idle_errors = await self._connect_idle(idle, idle_url, gate)
        return {
            "pairs": len(self.pairs),
            "idle": len(self.idle),
            "errors": errors,
            "idle_errors": idle_errors,
            "seconds": round(time.monotonic() - started, 2),
        }

    async def _pair(self, spec: dict[str, str], routed: bool) -> Pair:
        """Agent online first, then its customer asks for the agent's own team: with routing
        (Parley) the conversation is assigned to this agent, which the pair waits for so that
        no assignment happens during a measured point."""
        async with self.http.post(
            f"{spec['agent_url']}/api/v1/auth/login",
            json={"email": spec["email"], "password": PASSWORD},
        ) as reply:
            answer = await reply.json()
            if reply.status != 200:
                raise RuntimeError(f"sign-in answered {reply.status}: {answer}"[:200])
            token = answer["data"]["token"]
        pair = Pair(Connection("/customer"), Connection("/agent"))
        assigned: asyncio.Queue[str] = asyncio.Queue()

        def on_setup_event(name: str, payload: Any) -> None:
            if name == "assigned":
                assigned.put_nowait(payload["conversation"]["id"])

        pair.agent.on_event = on_setup_event
        await pair.agent.open(self.http, spec["agent_url"], {"token": token})
        await pair.customer.open(self.http, spec["customer_url"])
        started = _ok(
            await pair.customer.call(
                "start_conversation", {"new": True, "team": spec["team"] or None}
            )
        )
        pair.conversation_id = started["conversation"]["id"]
        _ok(await pair.agent.call("join", {"conversation_id": pair.conversation_id}))
        if routed:
            async with asyncio.timeout(30):
                while await assigned.get() != pair.conversation_id:
                    pass
        pair.agent.on_event = self._agent_event
        return pair

    def _add(self, pair: Pair) -> None:
        self.pairs.append(pair)
        self.by_conversation[pair.conversation_id] = pair

    async def _connect_idle(self, count: int, url: str, gate: asyncio.Semaphore) -> int:
        failed = 0

        async def one() -> None:
            nonlocal failed
            async with gate:
                try:
                    self.idle.append(await IdleSocket.open(url, "/customer"))
                except Exception:  # counted: a refused idle socket is a result
                    failed += 1

        await asyncio.gather(*(one() for _ in range(count)))
        return failed

    def _agent_event(self, name: str, payload: Any) -> None:
        if name == "message":
            pair = self.by_conversation.get(payload.get("conversation_id"))
            self.tally.heard(payload.get("client_id"), pair, time.monotonic())
        else:
            # Whatever else reaches agents during a point is load the table should explain.
            self.tally.other_events[name] = self.tally.other_events.get(name, 0) + 1

    async def point(self, rate: float, duration: float) -> dict[str, Any]:
        total = round(rate * duration) if self.pairs else 0
        tally = self.tally = Tally(expected=total)
        for pair in self.pairs:
            pair.order.clear()
            pair.highest = -1
        cpu_before = own_cpu_seconds()
        lags_ms: list[float] = []
        pending: list[asyncio.Future[Any]] = []
        start = time.monotonic() + 0.05
        for k in range(total):
            due = start + k / rate
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            lags_ms.append(max(0.0, time.monotonic() - due) * 1000)
            pair = self.pairs[k % len(self.pairs)]
            self.sent_total += 1
            client_id = f"{self.run_id}-{self.sent_total}"
            tally.sending(pair, client_id, k, due)
            future = await pair.customer.emit(
                "send_message",
                {
                    "conversation_id": pair.conversation_id,
                    "client_id": client_id,
                    "body": f"load message {k}",
                },
            )
            future.add_done_callback(tally.answered)
            pending.append(future)
        sending_ended = time.monotonic()
        if total:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(DRAIN_SECONDS):
                    await tally.everything_in.wait()
                    await asyncio.wait(pending)
        missing = len(tally.scheduled)
        delivered = len(tally.latencies_ms)
        last = max(tally.delivered_at, default=start)
        return {
            "sent": total,
            "delivered": delivered,
            "missing": missing,
            "duplicates": tally.duplicates,
            "out_of_order": tally.out_of_order,
            "strays": tally.strays,
            "acked": tally.acked,
            "ack_errors": tally.ack_errors,
            "agent_other_events": tally.other_events,
            "unacked": sum(1 for future in pending if not future.done()),
            "latencies_ms": [round(value, 3) for value in tally.latencies_ms],
            "send_lag_ms_max": round(max(lags_ms, default=0.0), 1),
            "longest_gap_ms": round(_longest_gap(tally.delivered_at) * 1000, 1),
            "stalled_after_drop_ms": tally.stalled_after_drop_ms(SLOW_MS),
            "active_seconds": round(max(last, sending_ended) - start, 3),
            "cpu_seconds": round(own_cpu_seconds() - cpu_before, 3),
            "wall_seconds": round(time.monotonic() - start, 3),
        }

    async def storm_connect(self, count: int, url: str) -> dict[str, Any]:
        started, cpu_before = time.monotonic(), own_cpu_seconds()
        opening: list[asyncio.Future[IdleSocket]] = []
        took: list[float] = []  # each connected socket's time from its first step

        async def timed() -> IdleSocket:
            began = time.monotonic()
            socket = await IdleSocket.open(url, "/customer")
            took.append(time.monotonic() - began)
            return socket

        for first in range(0, count, STORM_SLICE):
            opening += [
                asyncio.ensure_future(timed()) for _ in range(min(STORM_SLICE, count - first))
            ]
            # One slice's first steps per turn: the live pairs' sends from this process go
            # out between them instead of after thousands of opens (seconds late, measured).
            await asyncio.sleep(0)
        outcomes = await asyncio.gather(*opening, return_exceptions=True)
        self.storm = [outcome for outcome in outcomes if isinstance(outcome, IdleSocket)]
        failures = Counter(
            f"{type(outcome).__name__} {outcome}".strip()
            for outcome in outcomes
            if not isinstance(outcome, IdleSocket)
        )
        return {
            "connected": len(self.storm),
            "failed": count - len(self.storm),
            "failures": dict(failures.most_common(3)),  # why, the commonest first
            "seconds": round(time.monotonic() - started, 3),
            # Each socket's connect time, rounded to ms: a tail of seconds is the kernel's
            # SYN and data retransmissions after a listen-queue overflow, not server work.
            "connect_ms": sorted(round(t * 1000) for t in took),
            # This generator's own CPU while connecting (the live point's included).
            "cpu_seconds": round(own_cpu_seconds() - cpu_before, 3),
        }

    async def storm_drop(self) -> dict[str, Any]:
        started = self.tally.dropped_at = time.monotonic()
        dropping, self.storm = self.storm, []
        for socket in dropping:
            socket.close()
        await asyncio.gather(*(s.closed.wait() for s in dropping))
        return {"dropped": len(dropping), "seconds": round(time.monotonic() - started, 3)}

    async def close(self) -> None:
        every = [c for pair in self.pairs for c in (pair.customer, pair.agent)]
        for socket in self.idle + self.storm:
            socket.close()
        await asyncio.gather(*(c.close() for c in every), return_exceptions=True)
        await self.http.close()


def _ok(answer: Any) -> Any:
    if not (isinstance(answer, dict) and answer.get("ok")):
        raise RuntimeError(f"refused: {answer!r}"[:200])
    return answer["data"]


def _longest_gap(moments: list[float]) -> float:
    ordered = sorted(moments)
    return max((b - a for a, b in itertools.pairwise(ordered)), default=0.0)


async def serve_commands() -> None:
    generator = Generator()
    reader = asyncio.StreamReader()
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    running: set[asyncio.Task[None]] = set()

    async def answer(command: dict[str, Any]) -> None:
        try:
            result = await run(command)
        except Exception as exc:  # the orchestrator reports it instead of waiting forever
            result = {"error": f"{type(exc).__name__}: {exc}"[:500]}
        sys.stdout.write(json.dumps({"id": command["id"], **result}) + "\n")
        sys.stdout.flush()

    async def run(command: dict[str, Any]) -> dict[str, Any]:
        op = command["op"]
        if op == "setup":
            result = await generator.setup(
                command["pairs"], command["idle"], command["idle_url"], command["routed"]
            )
        elif op == "point":
            result = await generator.point(command["rate"], command["duration"])
        elif op == "storm":
            result = await generator.storm_connect(command["count"], command["url"])
        elif op == "drop":
            result = await generator.storm_drop()
        else:
            raise ValueError(op)
        return result

    while line := await reader.readline():
        command = json.loads(line)
        if command["op"] == "quit":
            break
        task = asyncio.create_task(answer(command))
        running.add(task)
        task.add_done_callback(running.discard)
    await generator.close()


def main() -> None:
    # Thousands of sockets per process need more descriptors than the usual soft limit.
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    uvloop.run(serve_commands())


if __name__ == "__main__":
    main()
