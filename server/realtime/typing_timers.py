"""Typing state per socket, with server-side expiry: a client that stops refreshing (or
vanishes) stops "typing" for everyone after a few seconds, without relying on the receivers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

# (sid, conversation id, typing) -> broadcast
Broadcast = Callable[[str, str, bool], Coroutine[Any, Any, None]]


class TypingTimers:
    def __init__(self, timeout_seconds: float, broadcast: Broadcast) -> None:
        self._timeout = timeout_seconds
        self._broadcast = broadcast
        self._timers: dict[tuple[str, str], asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def update(self, sid: str, conversation_id: str, typing: bool) -> None:
        key = (sid, conversation_id)
        previous = self._timers.pop(key, None)
        if previous is not None:
            previous.cancel()
        if typing:
            loop = asyncio.get_running_loop()
            self._timers[key] = loop.call_later(self._timeout, self._expire, key)
            if previous is None:
                await self._broadcast(sid, conversation_id, True)
        elif previous is not None:
            await self._broadcast(sid, conversation_id, False)

    async def stop_all(self, sid: str) -> None:
        for key in [k for k in self._timers if k[0] == sid]:
            await self.update(key[0], key[1], False)

    def _expire(self, key: tuple[str, str]) -> None:
        if self._timers.pop(key, None) is None:
            return
        task: asyncio.Task[None] = asyncio.create_task(self._broadcast(key[0], key[1], False))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
