"""A storm of connects' rate-limit checks never stands in front of a live message's check
(routing/limits.py: connects are checked in a queue of their own), on the real Valkey."""

from __future__ import annotations

import asyncio

import redis.asyncio as redis_asyncio

from server.config import Settings
from server.routing.keys import RedisKeys
from server.routing.limits import Charge, RateLimits


async def test_a_message_check_is_answered_before_a_storm_of_connect_checks(
    settings: Settings,
) -> None:
    client = redis_asyncio.from_url(settings.redis_url)
    limits = RateLimits(client, RedisKeys(settings.redis_prefix), settings)
    finished: list[str] = []

    async def check(name: str, charge: Charge) -> None:
        await limits.take(charge)
        finished.append(name)

    try:
        # The script loaded, and a pooled connection for each queue (a new one would first
        # take handshake round trips of its own).
        await asyncio.gather(
            limits.take(Charge("messages_per_socket", "warm-up")),
            limits.take(Charge("visitors_per_address", "warm-up")),
        )
        storm = [
            asyncio.create_task(check("connect", Charge("visitors_per_address", f"10.0.0.{i}")))
            for i in range(1000)
        ]
        message = asyncio.create_task(
            check("message", Charge("messages_per_socket", "live-socket"))
        )
        await asyncio.gather(*storm, message)
        assert len(finished) == 1001 and limits.skipped == 0
        # Connect checks go 100 per round trip, one round trip at a time: in one queue, the
        # message would have been answered last, after ten of them.
        assert finished.index("message") <= 200
    finally:
        await client.aclose()
