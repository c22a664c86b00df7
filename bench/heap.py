"""What idle connections cost Parley's heap and garbage collector, measured inside the server.

    python -m bench.heap --connections 3000

Runs Parley in this process (embedded PostgreSQL and Valkey, no fsync) and connects N idle
`/customer` sockets from a load-generator process (raw Socket.IO frames), then reports per
connection: RSS, objects the garbage collector tracks, and what it finds after they all drop
(objects only a collection can free: what a frozen heap would keep); and how long a full
collection takes with the sockets connected, before and after `gc.freeze()`.
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


def _full_collection_ms() -> float:
    started = time.perf_counter()
    gc.collect()
    return round((time.perf_counter() - started) * 1000, 1)


async def measure(count: int) -> dict[str, Any]:
    from server.app import create_app

    raise_descriptor_limit()
    report: dict[str, Any] = {"connections": count}
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
            connected = await generator.ask("storm", 600, count=count, url=url)
            report["connected"] = connected["connected"]
            report["connect_seconds"] = connected["seconds"]
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
    args = parser.parse_args()
    print(json.dumps(asyncio.run(measure(args.connections)), indent=2))


if __name__ == "__main__":
    main()
