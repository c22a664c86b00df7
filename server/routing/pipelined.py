"""One Lua script run for many concurrent callers, in pipelined round trips instead of one
pooled connection each.

A storm of connects runs the same script (a rate-limit check) for thousands of sockets at
once. Each call on its own takes a connection from the Redis pool (64) and the rest queue for
one; past the callers' patience they fail. Here calls join a queue, and one task sends what
has queued up, up to 100 at a time, in one round trip on one connection. Each caller still
gets its own reply (or its own error); a caller that stopped waiting is simply not answered.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

log = logging.getLogger(__name__)

# Calls per round trip, at most: building and encoding them holds the loop (see
# actions/presence_updates.py).
BATCH = 100

_Call = tuple[Sequence[Any], Sequence[Any], "asyncio.Future[Any]"]


class PipelinedScript:
    def __init__(self, redis: Redis, script: AsyncScript, batch: int = BATCH) -> None:
        self._redis = redis
        self._script = script
        self._batch = batch
        self._queue: deque[_Call] = deque()
        self._sender: asyncio.Task[None] | None = None
        self.round_trips = 0

    async def __call__(self, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        loop = asyncio.get_running_loop()
        reply: asyncio.Future[Any] = loop.create_future()
        self._queue.append((keys, args, reply))
        if self._sender is None or self._sender.done():
            self._sender = loop.create_task(self._send())
        return await reply

    async def _send(self) -> None:
        while self._queue:
            count = min(len(self._queue), self._batch)
            calls = [self._queue.popleft() for _ in range(count)]
            try:
                async with self._redis.pipeline(transaction=False) as pipe:
                    for keys, args, _ in calls:
                        await self._script(keys=keys, args=args, client=pipe)
                    replies = await pipe.execute(raise_on_error=False)
                self.round_trips += 1
            except BaseException as exc:  # the round trip failed (or a stop cancelled it)
                for _, _, reply in calls:
                    if not reply.done():
                        reply.set_exception(exc if isinstance(exc, Exception) else TimeoutError())
                if not isinstance(exc, Exception):
                    raise
                continue
            for (_, _, reply), answer in zip(calls, replies, strict=True):
                if reply.done():
                    continue  # its caller stopped waiting
                if isinstance(answer, Exception):
                    reply.set_exception(answer)
                else:
                    reply.set_result(answer)
