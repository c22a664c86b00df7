"""One Lua script run for many concurrent callers, in pipelined round trips instead of one
pooled connection each.

A storm of connects runs the same script (a rate-limit check) for thousands of sockets at
once. Each call on its own takes a connection from the Redis pool (64) and the rest queue for
one; past the callers' patience they fail. Here calls join a queue, and one task sends what
has queued up, up to 100 at a time, in one round trip on one connection. Each caller still
gets its own reply (or its own error); a caller that stopped waiting is simply not answered.

A batch is sent as plain EVALSHA commands (`run_batch`): redis-py's pipeline would first ask
`SCRIPT EXISTS` in a round trip of its own before every batch, doubling the round trips of
every rate-limit check and presence write. A script Redis does not know (after a restart or a
`SCRIPT FLUSH`) is loaded then and its calls sent again; they did not run.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError

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
                replies = await self._run(calls)
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

    async def _run(self, calls: list[_Call]) -> list[Any]:
        replies, round_trips = await run_batch(
            self._redis, self._script, [(keys, args) for keys, args, _ in calls]
        )
        self.round_trips += round_trips
        return replies


async def run_batch(
    redis: Redis, script: AsyncScript, calls: Sequence[tuple[Sequence[Any], Sequence[Any]]]
) -> tuple[list[Any], int]:
    """Run `script` once per (keys, args), in order, in one pipelined round trip: the replies
    (a failed call's is its exception) and the round trips it took (two more when Redis had
    to be given the script first)."""
    replies = await _evalsha_all(redis, script.sha, calls)
    unknown = [i for i, reply in enumerate(replies) if isinstance(reply, NoScriptError)]
    if not unknown:
        return replies, 1
    await redis.script_load(script.script)
    again = await _evalsha_all(redis, script.sha, [calls[i] for i in unknown])
    for i, reply in zip(unknown, again, strict=True):
        replies[i] = reply
    return replies, 3


async def _evalsha_all(
    redis: Redis, sha: str, calls: Sequence[tuple[Sequence[Any], Sequence[Any]]]
) -> list[Any]:
    async with redis.pipeline(transaction=False) as pipe:
        for keys, args in calls:
            pipe.evalsha(sha, len(keys), *keys, *args)
        replies: list[Any] = await pipe.execute(raise_on_error=False)
    return replies
