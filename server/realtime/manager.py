"""The Socket.IO client manager: python-socketio's Redis manager with targeted fan-out, gated
local delivery and coalesced publishing.

python-socketio delivers every emit to the local members of the room and publishes it on one
Redis channel that every process decodes; `fanout.RoomChannels` publishes room emits on the
room's own channel instead, heard only by processes with a socket in the room.
`_GatedLocalDelivery` sits right above the plain in-process manager in the method resolution
order, so that every local delivery of a sequenced event to a conversation
room goes through the DeliveryGate, socket by socket; everything else is delivered as usual.

The stock manager awaits one PUBLISH round trip per emit, which caps a process near 2,000
messages per second. `_CoalescedPublishing` queues the publishes instead and sends whatever
has queued up in one pipelined round trip, in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import socketio
from engineio import packet as eio_packet

from ..core.events import SESSION_ENDED, conversation_room
from .fanout import RoomChannels, supports_sharded_pubsub
from .gate import SEQUENCED_EVENTS, DeliveryGate
from .room_index import RoomIndex

_CONVERSATION_PREFIX = conversation_room("")


class _GatedLocalDelivery(socketio.AsyncManager):
    gate: DeliveryGate | None = None
    # The last sequenced payload encoded for sockets: (payload, event, JSON).
    _last_encoded: tuple[Any, str, str] | None = None

    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str,
        room: str | None = None,
        skip_sid: Any = None,
        callback: Any = None,
        to: str | None = None,
        **kwargs: Any,
    ) -> None:
        room = to or room
        gate = self.gate
        if event == SESSION_ENDED and isinstance(room, str):
            await self._end_sessions(event, data, namespace, room)
            return
        if (
            gate is None
            or event not in SEQUENCED_EVENTS
            or not isinstance(room, str)
            or not room.startswith(_CONVERSATION_PREFIX)
            or namespace not in self.rooms
        ):
            await socketio.AsyncManager.emit(
                self, event, data, namespace, room=room, skip_sid=skip_sid, callback=callback
            )
            return
        skipped = skip_sid if isinstance(skip_sid, list) else [skip_sid]
        rooms = self.rooms[namespace]
        for sid, _eio_sid in list(self.get_participants(namespace, room)):
            # Each offer may yield: a socket whose `leave` ran meanwhile must not get the event
            # after its acknowledgement, or its next join's replay would give it a second time.
            if sid not in skipped and sid in rooms.get(room, ()):
                await gate.offer(namespace, sid, event, data)

    async def emit_to_rooms(
        self,
        event: str,
        data: Any,
        targets: Sequence[tuple[str, Sequence[str]]],
        skip_sid: Any = None,
    ) -> None:
        """One event to rooms of several namespaces (each socket gets it once per namespace)."""
        for namespace, rooms in targets:
            if rooms:
                target: Any = rooms[0] if len(rooms) == 1 else list(rooms)
                await self.emit(event, data, namespace, room=target, skip_sid=skip_sid)

    async def _end_sessions(self, event: str, data: Any, namespace: str, room: str) -> None:
        """Tell this process's sockets in the room that their session ended, then close them.
        Every process runs this for its own sockets, so an agent's sockets end everywhere."""
        await socketio.AsyncManager.emit(self, event, data, namespace, room=room)
        if room not in self.rooms.get(namespace, {}):
            return
        for sid, _eio_sid in list(self.get_participants(namespace, room)):
            await self.server.disconnect(sid, namespace=namespace, ignore_queue=True)

    async def send_direct(self, namespace: str, sid: str, event: str, data: Any) -> None:
        """Deliver to one local socket, bypassing the gate (the gate's own output).

        python-socketio's emit would build and encode a packet for each call, then send it
        from a task of its own that it waits for. A message goes to every follower in each
        namespace, so its JSON is encoded once (the gate offers each socket the same payload
        object) and the packet handed to the socket's outbox at once, in the same order.
        Sequenced payloads are JSON values (never bytes), so there is no binary form."""
        for _sid, eio_sid in self.get_participants(namespace, sid):
            pkt = eio_packet.Packet(eio_packet.MESSAGE, self._event_packet(namespace, event, data))
            await self.server._send_eio_packet(eio_sid, pkt)

    def _event_packet(self, namespace: str, event: str, data: Any) -> str:
        """Socket.IO's EVENT packet for [event, data] in `namespace`, as its Packet encodes it."""
        cached = self._last_encoded
        if cached is not None and cached[0] is data and cached[1] == event:
            body = cached[2]
        else:
            body = self.server.packet_class.json.dumps([event, data], separators=(",", ":"))
            # Held with the payload itself, so an identity match can never be another object.
            self._last_encoded = (data, event, body)
        prefix = "" if namespace == "/" else namespace + ","
        return f"{socketio.packet.EVENT}{prefix}{body}"


log = logging.getLogger(__name__)

# Publishes per pipelined round trip, at most; how long a shutdown waits for the queued ones.
_PUBLISH_BATCH = 500
_DRAIN_SECONDS = 2.0
# Resubscribing after Redis went away: python-socketio backs off 1 -> 60 s, which kept
# cross-process delivery dead for up to a minute after Redis was back. Capped at 0.5 s, the
# fan-out resumes within a second of Redis returning, for a few cheap failed connects.
_LISTEN_RETRY_FIRST = 0.05
_LISTEN_RETRY_MAX = 0.5


class _CoalescedPublishing(socketio.AsyncRedisManager):
    """Publishes leave in the order they were made, many per round trip. An emit returns once
    the local sockets have it and its publish is queued; a failed batch is retried once on a
    fresh connection and then dropped with a log line, as the stock manager does (clients
    resume from their last sequence, so nothing sequenced is lost for good).

    A queued publish names its channel: the shared one (PUBLISH, python-socketio's format) or
    a room's (SPUBLISH where the server has sharded pub/sub, see `fanout.RoomChannels`)."""

    connected: bool

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._outbox: deque[tuple[str | None, str]] = deque()
        self._flusher: asyncio.Task[None] | None = None
        # Whether Redis has SPUBLISH/SSUBSCRIBE (7.0+, Valkey); None until asked.
        self.sharded: bool | None = None
        # Told of every Redis failure the fan-out sees (the rate limits fail open on it).
        self.redis_failed: Callable[[], None] | None = None

    @property
    def backlog(self) -> int:
        """Publishes queued and not yet handed to Redis (a metric: it grows when Redis lags)."""
        return len(self._outbox)

    async def _publish(self, data: Any) -> None:
        self._enqueue(None, self.json.dumps(data))

    def _enqueue(self, room_channel: str | None, message: str) -> None:
        """Queue one publish: on a room's channel, or on the shared one (None)."""
        self._outbox.append((room_channel, message))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush())

    async def _flush(self) -> None:
        while self._outbox:
            count = min(len(self._outbox), _PUBLISH_BATCH)
            await self._publish_batch([self._outbox.popleft() for _ in range(count)])

    async def _publish_batch(self, batch: list[tuple[str | None, str]]) -> None:
        for attempt in (1, 2):
            try:
                if not self.connected:
                    self._redis_connect()
                if self.sharded is None:
                    self.sharded = await supports_sharded_pubsub(self.redis)
                async with self.redis.pipeline(transaction=False) as pipe:
                    for room_channel, message in batch:
                        if room_channel is None:
                            pipe.publish(self.channel, message)
                        elif self.sharded:
                            pipe.spublish(room_channel, message)
                        else:
                            pipe.publish(room_channel, message)
                    await pipe.execute()
                return
            except Exception:
                self.connected = False
                if self.redis_failed is not None:
                    self.redis_failed()
                if attempt == 2:
                    log.exception("publishing %d messages to Redis failed; dropped", len(batch))

    async def drain_outbox(self) -> None:
        """Wait (at most 2 s) until every queued publish has gone out: before a shutdown."""
        if self._flusher is not None and not self._flusher.done():
            await asyncio.wait({self._flusher}, timeout=_DRAIN_SECONDS)


class _ResilientListening(socketio.AsyncRedisManager):
    """Receives the other processes' publishes; after losing Redis it resubscribes within half
    a second of Redis coming back, reports its health (`fanout_state`) and calls `recovered`
    so that state Redis may have lost is rebuilt at once instead of at the next interval."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # idle: not started (python-socketio starts it with the first connection); ok; down.
        self.fanout_state = "idle"
        self.recovered: Callable[[], None] | None = None

    async def _redis_listen_with_retries(self) -> AsyncIterator[Any]:
        retry = _LISTEN_RETRY_FIRST
        while True:
            pubsub = None
            try:
                self._redis_connect()
                # A failed publish reconnects through `_redis_connect` too, replacing
                # `self.pubsub`: hold on to the one this loop reads.
                pubsub = self.pubsub
                await pubsub.subscribe(self.channel)
                await self._subscribed(pubsub)
                retry = _LISTEN_RETRY_FIRST
                async for message in pubsub.listen():
                    yield message
            except Exception as exc:
                self._lost()
                if self.redis_failed is not None:
                    self.redis_failed()
                if pubsub is not None:
                    # redis-py may have reconnected and resubscribed it on its own: close it,
                    # or Redis keeps a second, unread subscriber that buffers every publish.
                    with contextlib.suppress(Exception):
                        await pubsub.aclose()
                if self.fanout_state != "down":
                    log.warning("fan-out: lost Redis (%s); resubscribing", exc)
                self.fanout_state = "down"
                await asyncio.sleep(retry)
                retry = min(retry * 2, _LISTEN_RETRY_MAX)

    async def _subscribed(self, pubsub: Any) -> None:
        """The shared channel is subscribed on a fresh connection (more may follow)."""
        self._listening()

    def _lost(self) -> None:
        """The listening connection failed (before it is replaced)."""

    def _listening(self) -> None:
        was_down = self.fanout_state == "down"
        self.fanout_state = "ok"
        if was_down:
            log.warning("fan-out: Redis is back; listening again")
            if self.recovered is not None:
                self.recovered()


class GatedRedisManager(
    RoomChannels, _ResilientListening, _CoalescedPublishing, RoomIndex, _GatedLocalDelivery
):
    """Cross-process fan-out through Redis (per-room channels), exactly-once ordered delivery
    per socket."""


class GatedLocalManager(RoomIndex, _GatedLocalDelivery):
    """Single-process variant (no Redis fan-out), for tools and tests that want one process."""
