"""Rate-limit and sign-in throttle benchmark: what one check costs against Redis, next to a
plain GET round trip measured in the same run. Embedded Valkey, loopback only.

    python bench/limits.py [--calls 5000] [--concurrency 50]

Prints one JSON document; docs/performance.md records the numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import redis.asyncio as redis_asyncio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from server.config import Settings
from server.embedded import EmbeddedValkey
from server.routing.keys import RedisKeys
from server.routing.limits import Charge, RateLimits
from server.routing.ratelimit import AttemptLimiter


async def measure(calls: int, concurrency: int, step: Callable[[int], Awaitable[object]]) -> dict:
    """Sequential latency percentiles, then throughput with `concurrency` callers."""
    latencies = []
    for n in range(calls):
        began = time.perf_counter()
        await step(n)
        latencies.append((time.perf_counter() - began) * 1e6)
    latencies.sort()
    began = time.perf_counter()
    cpu_began = time.process_time()
    per_caller = calls // concurrency

    async def caller(offset: int) -> None:
        for n in range(per_caller):
            await step(offset * per_caller + n)

    await asyncio.gather(*(caller(c) for c in range(concurrency)))
    elapsed = time.perf_counter() - began
    cpu = time.process_time() - cpu_began
    return {
        "sequential_p50_us": round(statistics.median(latencies)),
        "sequential_p99_us": round(latencies[int(len(latencies) * 0.99)]),
        "concurrent_per_s": round(per_caller * concurrency / elapsed),
        # This process's CPU per call with `concurrency` callers (Redis's own is not in it):
        # what a server pays per check.
        "concurrent_cpu_us": round(cpu / (per_caller * concurrency) * 1e6, 1),
    }


async def run(redis_url: str, calls: int, concurrency: int) -> dict:
    redis = redis_asyncio.Redis.from_url(redis_url, max_connections=concurrency + 8)
    keys = RedisKeys("bench:")
    # Limits high enough that nothing is refused: the cost of a check that lets through.
    settings = Settings(
        rate_messages_per_socket="1000000/60",
        rate_messages_per_conversation="1000000/60",
        rate_rest_per_address="1000000/60",
    )
    limits = RateLimits(redis, keys, settings)
    throttle = AttemptLimiter(redis, window_seconds=900)
    await redis.set("bench:plain", "1")
    report = {
        "baseline_get": await measure(calls, concurrency, lambda n: redis.get("bench:plain")),
        # A limit kept in Redis (every limit but the two message limits).
        "one_bucket": await measure(
            calls, concurrency, lambda n: limits.take(Charge("rest_per_address", n % 500))
        ),
        # send_message's check: the socket's bucket and the conversation's (served in the
        # process since the leases; one Redis step before), 100 posts per conversation.
        "two_buckets_send_message": await measure(
            calls,
            concurrency,
            lambda n: limits.take(
                Charge("messages_per_conversation", n % 50), Charge("messages_per_socket", n % 100)
            ),
        ),
    }

    async def sign_in(n: int) -> None:
        account = keys.login_failures_account(f"a{n % 500}@example.test")
        address = keys.login_failures_ip(f"10.0.{n % 250}.1")
        await throttle.reserve({account: 10**9, address: 10**9})
        await throttle.release([account, address])

    report["sign_in_reserve_and_release"] = await measure(calls, concurrency, sign_in)
    await redis.aclose()
    return report


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args()
    valkey = EmbeddedValkey(Path(tempfile.mkdtemp(prefix="parley-bench-")) / "valkey")
    try:
        report = await run(valkey.start(), args.calls, args.concurrency)
    finally:
        valkey.stop()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
