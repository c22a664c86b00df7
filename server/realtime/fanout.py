"""Targeted cross-process fan-out: an emit to a room goes out on that room's own Redis channel,
and a process listens only to the channels of rooms its sockets are in.

python-socketio publishes every emit on one channel that every process receives and decodes,
its own publishes included, so a process's cost of fan-out grows with the number of processes.
Here a room-addressed emit is delivered to the local sockets at once and published once per
room on `<channel>#<room>` (SPUBLISH: sharded pub/sub also spreads over a Redis Cluster; plain
PUBLISH on a Redis without it). A process subscribes to a room's channel when its first socket
enters the room and unsubscribes when the last one leaves; `enter_room` returns once the
subscription is active, so a join's replay from PostgreSQL starts only when nothing published
later can pass the process by (the delivery gate drops what both bring). Sid rooms have no
channel: Parley sends to one socket only on the process that holds it. Broadcasts without a
room, disconnects, callbacks and the other manager methods stay on the shared channel.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

import socketio
from redis.asyncio import Redis
from redis.exceptions import ResponseError
from socketio.async_pubsub_manager import AsyncPubSubManager
from socketio.packet import Packet

log = logging.getLogger(__name__)

# How long a room's first entry waits for Redis to confirm the subscription. Past that (Redis
# stalled), the join goes on: the gate fills what it missed at the next event or resume.
_SUBSCRIBE_WAIT_SECONDS = 2.0
_PING = "parley-fanout-"


async def supports_sharded_pubsub(redis: Redis) -> bool:
    """Redis 7+ and Valkey have SPUBLISH; older servers answer an unknown command."""
    try:
        await redis.spublish("parley-fanout-probe", "")
    except ResponseError:
        log.warning("fan-out: Redis has no sharded pub/sub; rooms use plain channels")
        return False
    return True


# One room's delivery inside a published message: namespace, and the rooms listed before it in
# the same emit (their members already have it from their own channel).
_Delivery = tuple[str, list[str]]


class RoomChannels(socketio.AsyncRedisManager):
    if TYPE_CHECKING:
        sharded: bool | None
        fanout_state: str

        def _enqueue(self, room_channel: str | None, message: str) -> None: ...
        def _listening(self) -> None: ...

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._host_prefix = self.host_id.encode()
        self._room_prefix = f"{self.channel}#"
        # Rooms asked of Redis on the listening connection, and those Redis has confirmed.
        self._requested: set[str] = set()
        self._active: set[str] = set()
        self._touched: set[str] = set()
        self._waiters: list[asyncio.Future[None]] = []
        self._link_waiters: list[asyncio.Future[None]] = []
        self._linked = False  # the listening connection is subscribed and takes commands
        # The listener's PubSub. Not `self.pubsub`: a publish that failed reconnects through
        # python-socketio's `_redis_connect`, which replaces that one with a fresh, unread one.
        self._link: Any = None
        self._generation = 0  # one per listening connection
        self._pongs: dict[bytes, asyncio.Future[None]] = {}
        self._tokens = itertools.count()
        self._driver: asyncio.Task[None] | None = None
        # Other processes' room publishes decoded here, by kind of room ("conv", "agent"...).
        self.room_messages_handled: Counter[str] = Counter()

    def room_channel(self, room: str) -> str:
        return self._room_prefix + room

    # -- sending ----------------------------------------------------------------------------
    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str | None = None,
        room: Any = None,
        skip_sid: Any = None,
        callback: Any = None,
        to: Any = None,
        **kwargs: Any,
    ) -> None:
        room = to or room
        if (
            kwargs.get("ignore_queue")
            or room is None
            or callback is not None
            or isinstance(data, tuple)
            or Packet.data_is_binary([data])
        ):
            await super().emit(
                event, data, namespace=namespace or "/", room=room, skip_sid=skip_sid,
                callback=callback, **kwargs,
            )  # fmt: skip
            return
        rooms = [room] if isinstance(room, str) else list(room)
        await self.emit_to_rooms(event, data, [(namespace or "/", rooms)], skip_sid)

    async def emit_to_rooms(
        self,
        event: str,
        data: Any,
        targets: Sequence[tuple[str, Sequence[str]]],
        skip_sid: Any = None,
    ) -> None:
        """One event to rooms of several namespaces: local sockets get it now, each socket
        once per namespace; other processes get one publish per room, whatever the number of
        namespaces (a public message reaches customers and staff with one)."""
        by_room: dict[str, list[_Delivery]] = {}
        for namespace, rooms in targets:
            if not rooms:
                continue
            target: str | list[str] = rooms[0] if len(rooms) == 1 else list(rooms)
            await AsyncPubSubManager.emit(
                self, event, data, namespace=namespace, room=target, skip_sid=skip_sid,
                ignore_queue=True,
            )  # fmt: skip
            for index, room in enumerate(rooms):
                if not self.is_sid_room(namespace, room):
                    by_room.setdefault(room, []).append((namespace, list(rooms[:index])))
        for room, deliveries in by_room.items():
            body = {"e": event, "d": data, "s": skip_sid, "to": deliveries}
            self._enqueue(self.room_channel(room), self.host_id + self.json.dumps(body))

    # -- receiving --------------------------------------------------------------------------
    async def _listen(self) -> AsyncIterator[Any]:
        shared = self.channel.encode()
        async for message in self._redis_listen_with_retries():
            kind = message["type"]
            if kind == "pong":
                self._pong(message["data"])
            elif message["channel"] == shared:
                if kind == "message":
                    yield message["data"]
            elif kind in ("smessage", "message"):
                await self._room_message(message["channel"], message["data"])

    async def _room_message(self, channel: bytes, raw: bytes) -> None:
        if raw.startswith(self._host_prefix):
            return  # our own publish: its local sockets had it from the emit
        try:
            body = self.json.loads(raw[len(self._host_prefix) :])
            room = channel.decode()[len(self._room_prefix) :]
            self.room_messages_handled[room.partition(":")[0]] += 1
            skip = body["s"]
            skipped = skip if isinstance(skip, list) else [skip]
            for namespace, before in body["to"]:
                excluded = list(skipped)
                for other in before:
                    excluded.extend(sid for sid, _ in self.get_participants(namespace, other))
                await AsyncPubSubManager.emit(
                    self, body["e"], body["d"], namespace=namespace, room=room,
                    skip_sid=excluded, ignore_queue=True,
                )  # fmt: skip
        except Exception:
            log.exception("fan-out: a room message could not be delivered")

    # -- subscriptions ----------------------------------------------------------------------
    def basic_enter_room(self, sid: str, namespace: str, room: Any, eio_sid: Any = None) -> None:
        super().basic_enter_room(sid, namespace, room, eio_sid=eio_sid)
        if room is not None and room != sid and room not in self._requested:
            self._touch(room)

    def basic_leave_room(self, sid: str, namespace: str, room: Any) -> None:
        super().basic_leave_room(sid, namespace, room)
        if room is not None and room != sid and room in self._requested:
            self._touch(room)

    async def enter_room(self, sid: str, namespace: str, room: Any, eio_sid: Any = None) -> None:
        await super().enter_room(sid, namespace, room, eio_sid=eio_sid)
        if (
            room is None
            or room == sid
            or room in self._active
            or self.fanout_state == "down"
            or not self._occupied(room)  # a socket of another process: entered there
        ):
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        self._wake()
        try:
            # A deadline on this task, not wait_for's task per join (one per connect).
            async with asyncio.timeout(_SUBSCRIBE_WAIT_SECONDS):
                await waiter  # its own future: cancelling it leaves the others waiting
        except TimeoutError:
            log.warning(
                "fan-out: subscribing to %s took over %.0f s", room, _SUBSCRIBE_WAIT_SECONDS
            )

    def _occupied(self, room: str) -> bool:
        return any(room in rooms for rooms in self.rooms.values())

    def _touch(self, room: str) -> None:
        self._touched.add(room)
        self._wake()

    def _wake(self) -> None:
        if self._driver is None or self._driver.done():
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return  # no loop yet: the listener subscribes every occupied room when it starts
            self._driver = loop.create_task(self._drive())

    async def _drive(self) -> None:
        """Bring Redis's subscriptions in line with the rooms, in batches: a storm of joins
        costs a few commands. Each pass ends with a PING; its answer proves every command
        before it applied, which is what the waiting `enter_room`s were told."""
        while self._touched or self._waiters:
            touched, self._touched = self._touched, set()
            waiters, self._waiters = self._waiters, []
            enter = [
                room for room in touched if room not in self._requested and self._occupied(room)
            ]
            leave = [
                room for room in touched if room in self._requested and not self._occupied(room)
            ]
            self._requested.update(enter)
            self._requested.difference_update(leave)
            self._active.difference_update(leave)
            if not self._linked:
                # The listener subscribes everything occupied once it is connected.
                self._link_waiters.extend(waiters)
                continue
            generation = self._generation
            try:
                token, pong = self._ping_future()
                if leave:
                    await self._unsubscribe([self.room_channel(room) for room in leave])
                if enter:
                    await self._subscribe([self.room_channel(room) for room in enter])
                await self._link.ping(token)
                await asyncio.wait_for(asyncio.shield(pong), _SUBSCRIBE_WAIT_SECONDS)
                if generation == self._generation:
                    self._active.update(room for room in enter if room in self._requested)
            except Exception as exc:
                # The listener resubscribes every occupied room when it reconnects.
                log.warning("fan-out: updating room subscriptions failed (%s)", exc)
            finally:
                _release(waiters)

    async def _subscribe(self, channels: list[str]) -> None:
        if self.sharded is False:
            await self._link.subscribe(*channels)
        else:
            await self._link.ssubscribe(*channels)

    async def _unsubscribe(self, channels: list[str]) -> None:
        if self.sharded is False:
            await self._link.unsubscribe(*channels)
        else:
            await self._link.sunsubscribe(*channels)

    def _ping_future(self) -> tuple[str, asyncio.Future[None]]:
        token = f"{_PING}{next(self._tokens)}"
        future = asyncio.get_running_loop().create_future()
        self._pongs[token.encode()] = future
        return token, future

    def _pong(self, token: bytes) -> None:
        future = self._pongs.pop(token, None)
        if future is not None and not future.done():
            future.set_result(None)

    async def _subscribed(self, pubsub: Any) -> None:
        """A fresh listening connection: subscribe every room that has a local socket (after an
        outage too), and report the fan-out healthy once Redis confirmed them all."""
        self._link = pubsub
        if self.sharded is None:
            self.sharded = await supports_sharded_pubsub(self.redis)
        self._linked = True
        generation = self._generation
        rooms = {
            room
            for namespace_rooms in self.rooms.values()
            for room in namespace_rooms
            if room is not None and room not in namespace_rooms.get(None, {})
        }
        self._requested = rooms
        if rooms:
            await self._subscribe([self.room_channel(room) for room in rooms])
        token, pong = self._ping_future()
        waiters, self._link_waiters = self._link_waiters, []

        def confirmed(_: asyncio.Future[None]) -> None:
            _release(waiters)
            if generation != self._generation:
                return  # that connection failed before Redis answered
            self._active = {room for room in rooms if room in self._requested}
            self._listening()

        pong.add_done_callback(confirmed)
        await self._link.ping(token)

    def _lost(self) -> None:
        self._linked = False
        self._generation += 1
        self._active = set()
        pongs, self._pongs = self._pongs, {}
        _release(list(pongs.values()))  # their generation is over: nothing is marked active
        waiters, self._link_waiters = self._link_waiters, []
        _release(waiters)  # joins don't wait through an outage; the gate repairs what it misses


def _release(waiters: list[asyncio.Future[None]]) -> None:
    for waiter in waiters:
        if not waiter.done():
            waiter.set_result(None)
