"""What a connection storm does to Parley beyond the live pairs' latency: how long presence in
Redis takes to follow the sockets, and the garbage collector's pauses (from /metrics)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import time
from typing import Any

import aiohttp
import redis.asyncio as redis_asyncio
from prometheus_client.parser import text_string_to_metric_families

METRICS_TOKEN = "bench-metrics-token-0123456789abcdef"
# Pauses above this break the latency target (issue 13: none over 50 ms).
LONG_PAUSE_SECONDS = 0.05
_POLL_SECONDS = 0.05


async def presence_connections(redis_url: str, prefix: str) -> int:
    """Connections presence holds, agents' and customers' (every process's)."""
    client = redis_asyncio.from_url(redis_url)
    try:
        agents = await client.zcard(f"{prefix}presence:expiry")
        customers = await client.zcard(f"{prefix}presence:expiry:customer")
        return int(agents) + int(customers)
    finally:
        await client.aclose()


async def seconds_until(
    redis_url: str, prefix: str, target: int, since: float, *, rising: bool, limit: float = 30.0
) -> float | None:
    """Seconds from `since` (monotonic) until presence holds at least (`rising`) or at most
    `target` connections; None if it did not within `limit` seconds. Polls: Redis has
    nothing to wait on for a count."""
    client = redis_asyncio.from_url(redis_url)
    try:
        while time.monotonic() - since < limit:
            agents = await client.zcard(f"{prefix}presence:expiry")
            customers = await client.zcard(f"{prefix}presence:expiry:customer")
            count = int(agents) + int(customers)
            if count >= target if rising else count <= target:
                return round(time.monotonic() - since, 3)
            await asyncio.sleep(_POLL_SECONDS)
        return None
    finally:
        await client.aclose()


async def _metric_samples(urls: list[str], name: str) -> list[Any]:
    """Every server's samples of the metric family `name` (servers without metrics, such as
    the bare one, give none)."""
    samples: list[Any] = []
    async with aiohttp.ClientSession() as http:
        for url in urls:
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(
                    f"{url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
                ) as response:
                    if response.status != 200:
                        continue
                    text = await response.text()
                for family in text_string_to_metric_families(text):
                    if family.name == name:
                        samples += family.samples
    return samples


async def gc_pauses(urls: list[str]) -> dict[str, Any]:
    """Every server's collections so far: how many, how many over 50 ms, and the upper bound
    of the slowest bucket reached (seconds), summed over the processes and generations."""
    buckets: dict[float, float] = {}
    long_by_generation: dict[str, float] = {}
    for sample in await _metric_samples(urls, "parley_gc_pause_seconds"):
        generation = sample.labels.get("generation", "")
        if sample.name.endswith("_bucket"):
            bound = float(sample.labels["le"])
            buckets[bound] = buckets.get(bound, 0.0) + sample.value
            if bound == LONG_PAUSE_SECONDS:
                long_by_generation[generation] = (
                    long_by_generation.get(generation, 0.0) - sample.value
                )
        elif sample.name.endswith("_count"):
            long_by_generation[generation] = long_by_generation.get(generation, 0.0) + sample.value
    return {
        "buckets": buckets,
        "long_by_generation": long_by_generation,
        "long_cpu": await _long_collections_by_cpu(urls),
    }


async def _long_collections_by_cpu(urls: list[str]) -> float:
    """Collections so far whose own CPU time passed 50 ms (a long pause with little CPU was
    the process waiting for a core, not the collector working)."""
    long = 0.0
    for sample in await _metric_samples(urls, "parley_gc_cpu_seconds"):
        if sample.name.endswith("_count"):
            long += sample.value
        elif sample.name.endswith("_bucket") and float(sample.labels["le"]) == LONG_PAUSE_SECONDS:
            long -= sample.value
    return long


def pauses_between(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any] | None:
    """Collections between two scrapes: count, over 50 ms, and the slowest bucket's bound."""
    if not after["buckets"]:
        return None  # no metrics (the bare server)
    cumulative = {
        bound: count - before["buckets"].get(bound, 0.0)
        for bound, count in sorted(after["buckets"].items())
    }
    total = cumulative.get(float("inf"), 0.0)
    under = cumulative.get(LONG_PAUSE_SECONDS, 0.0)
    slowest = next((bound for bound, count in cumulative.items() if count >= total), None)
    long_before = before.get("long_by_generation", {})
    return {
        "collections": int(total),
        "over_50ms": int(total - under),
        # Of all collections, how many used over 50 ms of CPU themselves.
        "over_50ms_cpu": int(after.get("long_cpu", 0.0) - before.get("long_cpu", 0.0)),
        "slowest_under_s": slowest,
        # Which generations those over 50 ms were: young (0), middle (1), full (2).
        "over_50ms_by_generation": {
            generation: int(count - long_before.get(generation, 0.0))
            for generation, count in sorted(after.get("long_by_generation", {}).items())
            if count - long_before.get(generation, 0.0) > 0
        },
    }


async def loop_lag(urls: list[str]) -> dict[float, float]:
    """Every server's event-loop lag samples so far, by bucket (cumulative, summed)."""
    buckets: dict[float, float] = {}
    for sample in await _metric_samples(urls, "parley_event_loop_lag_seconds"):
        if sample.name.endswith("_bucket"):
            bound = float(sample.labels["le"])
            buckets[bound] = buckets.get(bound, 0.0) + sample.value
    return buckets


def lag_between(before: dict[float, float], after: dict[float, float]) -> dict[str, Any] | None:
    """The loop-lag probe's samples between two scrapes: how many, how many over 50 ms, and
    the upper bounds of the buckets holding their 99th percentile and their maximum."""
    if not after:
        return None
    cumulative = {bound: count - before.get(bound, 0.0) for bound, count in sorted(after.items())}
    total = cumulative.get(float("inf"), 0.0)
    if not total:
        return {"samples": 0}
    return {
        "samples": int(total),
        "over_50ms": int(total - cumulative.get(LONG_PAUSE_SECONDS, 0.0)),
        "p99_under_s": next(b for b, count in cumulative.items() if count >= 0.99 * total),
        "max_under_s": next(b for b, count in cumulative.items() if count >= total),
    }


def start_profiler(path: str, pid: int) -> subprocess.Popen[bytes]:
    """py-spy sampling `pid` (200 Hz, speedscope format) until stop_profiler; needs py-spy
    (`pip install py-spy`) and the right to trace the process (root, or ptrace_scope 0)."""
    return subprocess.Popen(
        ["py-spy", "record", "-p", str(pid), "-r", "200", "-f", "speedscope", "-o", path],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stop_profiler(profiler: subprocess.Popen[bytes]) -> None:
    """py-spy writes its file when interrupted."""
    profiler.send_signal(signal.SIGINT)
    profiler.wait(timeout=60)
