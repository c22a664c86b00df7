"""Per-process cost of cross-process fan-out, on a real Valkey: the CPU each receiving process
spends on the other processes' publishes, python-socketio's shared channel against Parley's
per-room channels.

    python -m bench.fanout [--events 4000] [--processes 1,2,4] [--rooms 200]

A sender publishes `--events` public messages, round-robin over `--rooms` conversations, as
the server's publisher does, queued and pipelined: on the shared channel, python-socketio's
publish per side (customer and staff), received by the stock `AsyncRedisManager` (main's
receive path); with per-room channels, one publish per message through
`GatedRedisManager.emit_to_rooms`. Each of the P receiving processes holds the conversations
whose index is its own modulo P (one socket per room and side, as if the pair were there;
deliveries go to no real socket). Each receiver reports its CPU from its first to its last
expected message, per message the sender sent: what one message costs each process.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import redis
import socketio

from server.embedded import EmbeddedValkey
from server.realtime import codec
from server.realtime.manager import GatedRedisManager

NAMESPACES = ("/customer", "/agent")


def _rooms(count: int) -> list[str]:
    return [f"conv:{n:08d}" for n in range(count)]


async def receive(url: str, channel: str, mode: str, index: int, processes: int, rooms: int,
                  events: int) -> dict[str, Any]:  # fmt: skip
    mine = [room for n, room in enumerate(_rooms(rooms)) if n % processes == index]
    manager: Any
    if mode == "shared":
        manager = socketio.AsyncRedisManager(url, channel=channel)
        expected = events * len(NAMESPACES)  # every publish of every message
    else:
        manager = GatedRedisManager(url, channel=channel)
        expected = sum(1 for n in range(events) if n % rooms % processes == index)
    _server = socketio.AsyncServer(async_mode="aiohttp", client_manager=manager, json=codec)
    seen = 0
    first = last = 0.0
    done = asyncio.Event()
    deliver = socketio.AsyncManager.emit

    async def counting(self: Any, event: str, data: Any, namespace: str, **kwargs: Any) -> None:
        nonlocal seen, first, last
        await deliver(self, event, data, namespace, **kwargs)
        # Once per publish: a shared-channel publish is one side, a room publish both.
        if mode == "shared" or namespace == NAMESPACES[-1]:
            seen += 1
            if seen == 1:
                first = time.process_time()
            if seen == expected:
                last = time.process_time()
                done.set()

    socketio.AsyncManager.emit = counting  # type: ignore[method-assign]
    for n, room in enumerate(mine):
        for namespace in NAMESPACES:
            manager.basic_enter_room(f"s{n}", namespace, None, eio_sid=f"e{n}")
            manager.basic_enter_room(f"s{n}", namespace, room)
    manager.initialize()
    # The managers expose their state, not events: poll it.
    while mode == "rooms" and manager.fanout_state != "ok":  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    while mode == "shared" and not (manager.pubsub and manager.pubsub.subscribed):  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    print("ready", flush=True)
    await asyncio.wait_for(done.wait(), 120) if expected else None
    decoded = seen if mode == "shared" else sum(manager.room_messages_handled.values())
    return {"decoded": decoded, "cpu_us_per_event": round((last - first) * 1e6 / events, 1)}


async def send(url: str, channel: str, mode: str, rooms: int, events: int) -> None:
    names = _rooms(rooms)
    manager = GatedRedisManager(url, channel=channel, write_only=True, json=codec)
    for n in range(events):
        room = names[n % rooms]
        data = {"conversation_id": room, "seq": n, "body": "x" * 40}
        if mode == "shared":
            # What python-socketio's emit publishes, one per side, queued and pipelined as
            # main's coalesced publishing does.
            for namespace in NAMESPACES:
                await manager._publish(
                    {
                        "method": "emit",
                        "event": "message",
                        "data": [data],
                        "binary": False,
                        "namespace": namespace,
                        "room": room,
                        "skip_sid": None,
                        "callback": None,
                        "host_id": manager.host_id,
                    }
                )
        else:
            await manager.emit_to_rooms("message", data, [(ns, [room]) for ns in NAMESPACES])
        if n % 200 == 0:
            await asyncio.sleep(0)
    await manager.drain_outbox()


def point(url: str, mode: str, processes: int, rooms: int, events: int) -> list[dict[str, Any]]:
    channel = f"bench-{mode}-{processes}-{time.monotonic_ns()}"
    receivers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.fanout",
                "--receive",
                url,
                channel,
                mode,
                str(index),
                str(processes),
                str(rooms),
                str(events),
            ],
            stdout=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).resolve().parents[1],
        )
        for index in range(processes)
    ]
    for receiver in receivers:
        assert receiver.stdout is not None and receiver.stdout.readline().strip() == "ready"
    client = redis.Redis.from_url(url)
    # The stock listener's SUBSCRIBE is sent, not necessarily applied: ask Redis.
    while mode == "shared" and client.pubsub_numsub(channel)[0][1] < processes:
        time.sleep(0.01)
    client.close()
    asyncio.run(send(url, channel, mode, rooms, events))
    results = []
    for receiver in receivers:
        out, _ = receiver.communicate(timeout=180)
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=4000)
    parser.add_argument("--rooms", type=int, default=200)
    parser.add_argument("--processes", default="1,2,4")
    parser.add_argument("--receive", nargs=7)
    args = parser.parse_args()
    if args.receive:
        url, channel, mode, index, processes, rooms, events = args.receive
        result = asyncio.run(
            receive(url, channel, mode, int(index), int(processes), int(rooms), int(events))
        )
        print(json.dumps(result), flush=True)
        return
    valkey = EmbeddedValkey(Path(tempfile.mkdtemp(prefix="parley-bench-")) / "valkey")
    url = valkey.start()
    try:
        print("processes  channels      decoded per process   CPU µs per message, per process")
        for processes in (int(p) for p in args.processes.split(",")):
            for mode in ("shared", "rooms"):
                results = point(url, mode, processes, args.rooms, args.events)
                decoded = "/".join(str(r["decoded"]) for r in results)
                cpu = "/".join(str(r["cpu_us_per_event"]) for r in results)
                print(f"{processes:>9}  {mode:<12}  {decoded:<20}  {cpu}", flush=True)
    finally:
        valkey.stop()


if __name__ == "__main__":
    main()
