"""Coalesced publishing on the real Valkey: every publish arrives, in order, in far fewer round
trips than messages; a dropped connection is retried on a fresh one."""

from __future__ import annotations

import asyncio
import json
import uuid

import redis.asyncio as redis

from server.realtime import codec
from server.realtime.manager import GatedRedisManager


async def _listen(redis_url: str, channel: str) -> tuple[redis.Redis, redis.client.PubSub]:
    client = redis.Redis.from_url(redis_url)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(channel)
    return client, pubsub


async def _received(pubsub, count: int) -> list[dict]:
    got: list[dict] = []
    async with asyncio.timeout(10):
        while len(got) < count:
            message = await pubsub.get_message(timeout=1.0)
            if message is not None:
                got.append(json.loads(message["data"]))
    return got


async def test_every_publish_arrives_in_order_in_few_round_trips(redis_url: str) -> None:
    channel = f"test-{uuid.uuid4().hex}"
    client, pubsub = await _listen(redis_url, channel)
    manager = GatedRedisManager(redis_url, channel=channel, write_only=True, json=codec)
    round_trips = 0
    publish_batch = manager._publish_batch

    async def counting(batch: list[str]) -> None:
        nonlocal round_trips
        round_trips += 1
        await publish_batch(batch)

    manager._publish_batch = counting  # type: ignore[method-assign]
    try:
        for n in range(2000):
            await manager._publish({"n": n})
        await manager.drain_outbox()
        got = await _received(pubsub, 2000)
        assert [m["n"] for m in got] == list(range(2000))
        assert round_trips <= 2000 // 100  # batched: at most a few per 500 messages
    finally:
        await pubsub.aclose()
        await client.aclose()
        if manager.redis is not None:
            await manager.redis.aclose()


async def test_a_lost_connection_is_replaced_and_the_batch_sent(redis_url: str) -> None:
    channel = f"test-{uuid.uuid4().hex}"
    client, pubsub = await _listen(redis_url, channel)
    manager = GatedRedisManager(redis_url, channel=channel, write_only=True, json=codec)
    try:
        await manager._publish({"n": 0})
        await manager.drain_outbox()
        await manager.redis.aclose()
        manager.redis = redis.Redis.from_url("redis://127.0.0.1:1")  # nothing listens there
        await manager._publish({"n": 1})
        await manager.drain_outbox()
        got = await _received(pubsub, 2)
        assert [m["n"] for m in got] == [0, 1]
    finally:
        await pubsub.aclose()
        await client.aclose()
        if manager.redis is not None:
            await manager.redis.aclose()


async def test_room_publishes_are_sharded_batched_and_in_order(redis_url: str) -> None:
    channel = f"test-{uuid.uuid4().hex}"
    manager = GatedRedisManager(redis_url, channel=channel, write_only=True, json=codec)
    client = redis.Redis.from_url(redis_url)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    await pubsub.ssubscribe(manager.room_channel("conv:a"), manager.room_channel("conv:b"))
    round_trips = 0
    publish_batch = manager._publish_batch

    async def counting(batch: list[tuple[str | None, str]]) -> None:
        nonlocal round_trips
        round_trips += 1
        await publish_batch(batch)

    manager._publish_batch = counting  # type: ignore[method-assign]
    try:
        for n in range(1000):
            room = "conv:a" if n % 2 else "conv:b"
            # Both sides of one event: a single publish on the room's channel.
            await manager.emit_to_rooms(
                "message", {"n": n}, [("/customer", [room]), ("/agent", [room])]
            )
        await manager.drain_outbox()
        got: list[tuple[bytes, dict]] = []
        async with asyncio.timeout(10):
            while len(got) < 1000:
                message = await pubsub.get_sharded_message(timeout=1.0)
                if message is not None:
                    assert message["type"] == "smessage"
                    body = json.loads(message["data"][len(manager.host_id) :])
                    got.append((message["channel"], body))
        assert [body["d"]["n"] for _, body in got] == list(range(1000))
        assert all(
            channel.endswith(b"#conv:a") == (body["d"]["n"] % 2 == 1) for channel, body in got
        )
        assert got[0][1]["to"] == [["/customer", []], ["/agent", []]]
        assert manager.sharded is True
        assert round_trips <= 1000 // 100
    finally:
        await pubsub.aclose()
        await client.aclose()
        if manager.redis is not None:
            await manager.redis.aclose()
