"""Exactly-once, in-order message delivery per socket, on top of best-effort pub/sub.

Live events reach a process through Redis and may arrive late, twice (a resume replays what a
live event also carries) or out of order (two messages committed back to back are published by
different tasks or processes). Each socket has, per conversation it follows, a cursor: the last
sequence it was given. An event right after the cursor is delivered at once, the hot path with
no I/O. Anything else is either a duplicate (dropped) or reveals a gap: the stream then catches
up from PostgreSQL, the system of record, buffering live events meanwhile, and delivers
everything in sequence order. Opening a stream with the client's last sequence is the resume.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from ..core.events import MESSAGE, SEQ_ADVANCE

log = logging.getLogger(__name__)

# (namespace, conversation id, after seq, limit) -> message payloads in sequence order
FetchPage = Callable[[str, str, int, int], Awaitable[list[dict[str, Any]]]]
# (namespace, sid, event, data)
SendToSocket = Callable[[str, str, str, Any], Awaitable[None]]

SEQUENCED_EVENTS = frozenset({MESSAGE, SEQ_ADVANCE})


class _Stream:
    __slots__ = ("arrivals", "cursor", "filling", "pending", "task")

    def __init__(self, cursor: int) -> None:
        self.cursor = cursor
        self.arrivals = 0  # events held so far; tells a catch-up whether any came during a fetch
        self.filling = False
        self.pending: dict[int, tuple[str, Any]] = {}
        self.task: asyncio.Task[None] | None = None


class DeliveryGate:
    def __init__(self, fetch: FetchPage, send: SendToSocket, *, page_size: int = 200) -> None:
        self._fetch = fetch
        self._send = send
        self._page_size = page_size
        self._streams: dict[tuple[str, str], dict[str, _Stream]] = {}

    async def open(
        self,
        namespace: str,
        sid: str,
        conversation_id: str,
        after_seq: int,
        subscribe: Callable[[], Awaitable[None]],
    ) -> None:
        """Follow a conversation from after_seq: replay what was missed, then go live.

        The stream starts holding live events before `subscribe` joins the room, so nothing
        published in between slips past. Returns once the replay has been handed to the socket:
        a client that waits for its acknowledgement has every missed message before it.
        """
        self.close(namespace, sid, conversation_id)
        stream = _Stream(after_seq)
        stream.filling = True
        self._streams.setdefault((namespace, sid), {})[conversation_id] = stream
        await subscribe()
        await self._catch_up(namespace, sid, conversation_id, stream)

    def close(self, namespace: str, sid: str, conversation_id: str | None = None) -> None:
        if conversation_id is None:
            streams = self._streams.pop((namespace, sid), {})
        else:
            found = self._streams.get((namespace, sid), {}).pop(conversation_id, None)
            streams = {conversation_id: found} if found else {}
        for stream in streams.values():
            if stream.task is not None:
                stream.task.cancel()

    def cursor(self, namespace: str, sid: str, conversation_id: str) -> int | None:
        stream = self._streams.get((namespace, sid), {}).get(conversation_id)
        return stream.cursor if stream else None

    async def offer(self, namespace: str, sid: str, event: str, data: Any) -> None:
        """A live sequenced event for one socket: deliver, drop, or hold it."""
        try:
            conversation_id = data["conversation_id"]
            seq = int(data["seq"])
        except (KeyError, TypeError, ValueError):
            log.warning("sequenced event %s without conversation_id/seq", event)
            return
        stream = self._streams.get((namespace, sid), {}).get(conversation_id)
        if stream is None:
            # Not a followed stream (it was closed meanwhile): nothing ordered to protect.
            if event != SEQ_ADVANCE:
                await self._send(namespace, sid, event, data)
            return
        if stream.filling:
            stream.pending[seq] = (event, data)
            stream.arrivals += 1
            return
        if seq <= stream.cursor:
            return
        if seq == stream.cursor + 1:
            stream.cursor = seq
            if event != SEQ_ADVANCE:
                await self._send(namespace, sid, event, data)
            return
        stream.pending[seq] = (event, data)
        stream.arrivals += 1
        stream.filling = True
        stream.task = asyncio.create_task(self._catch_up(namespace, sid, conversation_id, stream))

    async def _catch_up(
        self, namespace: str, sid: str, conversation_id: str, stream: _Stream
    ) -> None:
        try:
            while True:
                arrivals_before = stream.arrivals
                page = await self._fetch(namespace, conversation_id, stream.cursor, self._page_size)
                for data in page:
                    seq = int(data["seq"])
                    if seq > stream.cursor:
                        stream.cursor = seq
                        await self._send(namespace, sid, MESSAGE, data)
                if len(page) == self._page_size:
                    continue
                await self._drain_consecutive(namespace, sid, stream)
                if not page and not stream.pending:
                    break
                if not page and stream.arrivals == arrivals_before:
                    # Nothing visible is missing: everything held was already committed when the
                    # fetch started, so what remains of a gap is invisible here (private notes).
                    await self._drain_all(namespace, sid, stream)
                    break
                # The page moved the cursor, or events arrived during the fetch: look again.
        except asyncio.CancelledError:
            raise
        except Exception:
            # The socket keeps its cursor; its next gap or resume retries from there.
            log.exception("catch-up for %s failed", conversation_id)
        finally:
            stream.filling = False
            stream.task = None
            stream.pending.clear()

    async def _drain_all(self, namespace: str, sid: str, stream: _Stream) -> None:
        for seq in sorted(stream.pending):
            event, data = stream.pending.pop(seq)
            if seq > stream.cursor:
                stream.cursor = seq
                if event != SEQ_ADVANCE:
                    await self._send(namespace, sid, event, data)

    async def _drain_consecutive(self, namespace: str, sid: str, stream: _Stream) -> None:
        for seq in sorted(stream.pending):
            if seq <= stream.cursor:
                del stream.pending[seq]
                continue
            if seq != stream.cursor + 1:
                return
            event, data = stream.pending.pop(seq)
            stream.cursor = seq
            if event != SEQ_ADVANCE:
                await self._send(namespace, sid, event, data)
