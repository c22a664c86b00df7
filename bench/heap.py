"""What idle connections cost Parley's heap and garbage collector, measured inside the server.

    python -m bench.heap --connections 3000

Runs Parley in this process (embedded PostgreSQL and Valkey, no fsync) and connects N idle
`/customer` sockets from a load-generator process (raw Socket.IO frames), drops them and
connects N again (the collector's pauses during that, with --thresholds and --freeze-step),
then reports per connection: RSS, objects the garbage collector tracks, and what it finds
after they all drop (objects only a collection can free: what a frozen heap would keep); and
how long a full collection takes with the sockets connected, before and after `gc.freeze()`.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiohttp import web

from bench.fleet import Generator, embedded_services, free_port, raise_descriptor_limit, rss_mb
from server.heap import THRESHOLDS, HeapFreezer


def _settings(dsn: str, redis_url: str, data_dir: Path, port: int) -> Any:
    from server.config import load_settings

    return load_settings(
        environ={},
        database_url=dsn,
        redis_url=redis_url,
        data_dir=data_dir,
        port=port,
        secret_key="bench-secret-key-0123456789abcdef",
        redis_prefix=f"heap{uuid.uuid4().hex[:6]}:",
        create_demo_accounts=False,
        kb_seed_demo=False,
        assistant_mode="off",
        allow_any_origin=True,
        max_connections_per_address=0,
        gc_freeze_step=0,  # this bench freezes by itself, to compare
        rate_visitors_per_address="100000000/1",
    )


class _Pauses:
    """Collections and their pauses while it is installed (gc.callbacks)."""

    def __init__(self) -> None:
        self.pauses: list[float] = []
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses.append(time.perf_counter() - self._started)

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.pauses)
        return {
            "collections": len(ordered),
            "over_50ms": sum(1 for p in ordered if p > 0.05),
            "max_ms": round(ordered[-1] * 1000, 1) if ordered else 0.0,
            "total_ms": round(sum(ordered) * 1000, 1),
        }


def _full_collection_ms() -> float:
    started = time.perf_counter()
    gc.collect()
    return round((time.perf_counter() - started) * 1000, 1)


async def measure(count: int, thresholds: tuple[int, int, int], freeze_step: int) -> dict[str, Any]:
    from server.app import create_app

    raise_descriptor_limit()
    gc.set_threshold(*thresholds)
    report: dict[str, Any] = {
        "connections": count,
        "thresholds": thresholds,
        "freeze_step": freeze_step,
    }
    async with embedded_services(durable=False) as services:
        port = free_port()
        settings = _settings(services.dsn, services.redis_url, services.data_dir, port)
        runner = web.AppRunner(create_app(settings), handle_signals=False)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        generator = await Generator.start()
        try:
            url = f"http://127.0.0.1:{port}"
            await generator.ask("storm", 600, count=5, url=url)  # warm every code path once
            await generator.ask("drop", 600)
            gc.collect()
            objects, rss = len(gc.get_objects()), rss_mb(os.getpid())
            report["full_collection_ms_before"] = _full_collection_ms()
            pauses = _Pauses()
            gc.callbacks.append(pauses)
            if freeze_step:
                sio = runner.app[_sockets_key()]
                freezer = HeapFreezer(
                    lambda: len(sio.manager.rooms.get("/customer", {}).get(None, ())), freeze_step
                )
                freezer.freeze()
                watching = asyncio.create_task(freezer.run())
            connected = await generator.ask("storm", 600, count=count, url=url)
            report["connected"] = connected["connected"]
            report["connect_seconds"] = connected["seconds"]
            await generator.ask("drop", 600)
            connected = await generator.ask("storm", 600, count=count, url=url)
            gc.callbacks.remove(pauses)
            report["pauses_connect_drop_connect"] = pauses.summary()
            if freeze_step:
                watching.cancel()
                gc.unfreeze()
            gc.collect()
            report["rss_kb_per_connection"] = round((rss_mb(os.getpid()) - rss) * 1024 / count, 1)
            report["tracked_objects_per_connection"] = round(
                (len(gc.get_objects()) - objects) / count, 1
            )
            report["full_collection_ms_connected"] = _full_collection_ms()
            gc.freeze()
            report["full_collection_ms_frozen"] = _full_collection_ms()
            gc.unfreeze()
            await generator.ask("drop", 600)
            # Departures finish after the sockets close: wait until the server saw them all.
            sio = runner.app[_sockets_key()]
            while sio.manager.rooms.get("/customer", {}).get(None):  # noqa: ASYNC110
                await asyncio.sleep(0.05)  # a count nothing signals; a bench, not a test
            report["garbage_objects_per_departed_connection"] = round(gc.collect() / count, 1)
        finally:
            await generator.quit()
            await runner.cleanup()
    return report


def _sockets_key() -> Any:
    from server.api.keys import SOCKETS

    return SOCKETS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=2000)
    parser.add_argument("--thresholds", default=",".join(map(str, THRESHOLDS)))
    parser.add_argument("--freeze-step", type=int, default=500, help="0: never freeze")
    args = parser.parse_args()
    low, middle, old = (int(part) for part in args.thresholds.split(","))
    report = asyncio.run(measure(args.connections, (low, middle, old), args.freeze_step))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
