"""Room channels on the real Valkey: a room's channel is subscribed before `enter_room` returns,
stays right when a failed publish has replaced the manager's connection, comes back after the
listening connection is killed, and is dropped with the room's last local socket."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest_asyncio
import redis.asyncio as redis
import socketio

from server.realtime import codec
from server.realtime.manager import GatedRedisManager
from tests.support import eventually

NAMESPACE = "/agent"


@pytest_asyncio.fixture
async def manager(redis_url: str) -> AsyncIterator[GatedRedisManager]:
    manager = GatedRedisManager(redis_url, channel=f"test-{uuid.uuid4().hex}")
    socketio.AsyncServer(async_mode="aiohttp", client_manager=manager, json=codec)
    manager.initialize()  # what the first connection does: starts the listener
    await eventually(lambda: _state(manager))
    # A socket of this process, as python-socketio registers one on connect.
    manager.basic_enter_room("sid-1", NAMESPACE, None, eio_sid="eio-1")
    manager.basic_enter_room("sid-1", NAMESPACE, "sid-1", eio_sid="eio-1")
    yield manager
    manager.thread.cancel()
    await asyncio.gather(manager.thread, return_exceptions=True)
    await manager._link.aclose()
    await manager.redis.aclose()


async def _state(manager: GatedRedisManager) -> bool:
    return manager.fanout_state == "ok"


async def _subscribers(client: redis.Redis, manager: GatedRedisManager, room: str) -> int:
    [(_, count)] = await client.pubsub_shardnumsub(manager.room_channel(room))
    return int(count)


async def test_room_channels_follow_the_local_sockets(
    manager: GatedRedisManager, redis_url: str
) -> None:
    client = redis.Redis.from_url(redis_url)
    sender = GatedRedisManager(redis_url, channel=manager.channel, write_only=True, json=codec)
    try:
        await manager.enter_room("sid-1", NAMESPACE, "conv:a")
        # Subscribed by the time enter_room returned: no waiting here.
        assert await _subscribers(client, manager, "conv:a") == 1
        assert await _subscribers(client, manager, "sid-1") == 0  # sid rooms have no channel

        # A publish that failed reconnects the manager (a new `pubsub` nobody reads); rooms
        # entered afterwards are still subscribed on the listening connection.
        manager.connected = False
        manager._redis_connect()
        await manager.enter_room("sid-1", NAMESPACE, "conv:b")
        assert await _subscribers(client, manager, "conv:b") == 1
        await sender.emit_to_rooms("message", {"n": 1}, [(NAMESPACE, ["conv:b"])])
        await eventually(lambda: _handled(manager, 1))

        # The listening connection dies: every room comes back with it.
        await client.client_kill_filter(_type="pubsub")
        await eventually(lambda: _resubscribed(client, manager))
        await sender.emit_to_rooms("message", {"n": 2}, [(NAMESPACE, ["conv:a"])])
        await eventually(lambda: _handled(manager, 2))

        # The last local socket leaves: the channel goes.
        await manager.leave_room("sid-1", NAMESPACE, "conv:a")
        await eventually(lambda: _unsubscribed(client, manager, "conv:a"))
        assert await _subscribers(client, manager, "conv:b") == 1
    finally:
        await client.aclose()
        if sender.redis is not None:
            await sender.redis.aclose()


async def _handled(manager: GatedRedisManager, count: int) -> bool:
    return manager.room_messages_handled["conv"] == count


async def _resubscribed(client: redis.Redis, manager: GatedRedisManager) -> bool:
    return (
        manager.fanout_state == "ok"
        and await _subscribers(client, manager, "conv:a") == 1
        and await _subscribers(client, manager, "conv:b") == 1
    )


async def _unsubscribed(client: redis.Redis, manager: GatedRedisManager, room: str) -> bool:
    return await _subscribers(client, manager, room) == 0
