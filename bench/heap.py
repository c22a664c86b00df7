"""What idle connections cost Parley's heap and garbage collector, measured inside the server.

    python -m bench.heap --connections 3000
    python -m bench.heap --connections 2000 --compare 3      # stock vs lean transport, alternating
    python -m bench.heap --connections 1000 --breakdown      # where the bytes of a connection go

Runs Parley in this process (embedded PostgreSQL and Valkey, no fsync, uvloop as `parley serve`
runs) and connects N idle `/customer` sockets from a load-generator process (raw Socket.IO
frames), drops them and connects N again (the collector's pauses during that, with
--thresholds and --freeze-step), then reports per connection: RSS (after the first N, and
after the second), objects the garbage collector tracks, and what it finds after they all drop
(objects only a collection can free: what a frozen heap would keep); and how long a full
collection takes with the sockets connected, before and after `gc.freeze()`.

--transport stock runs Engine.IO's own socket (a queue, a writer task, a ping task and a task
per read for every connection) instead of realtime/eio_socket.py's, to measure what it saves;
--compare K runs K child processes of each, alternating, and prints every report.
--breakdown adds, for the first N, the traced bytes per connection by source file and the
tracked objects per connection by type (tracemalloc slows the run: its pauses mean nothing).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import gc
import json
import os
import subprocess
import sys
import time
import tracemalloc
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
    """Collections and their pauses, by generation, while it is installed (gc.callbacks).

    Wall time is what a client waits; on a shared machine it includes time the process was
    not running, so the collection's own CPU time is kept too (what it costs on an idle one).
    """

    def __init__(self) -> None:
        self.pauses: list[tuple[int, float, float]] = []  # generation, wall, CPU
        self._started = (0.0, 0.0)

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = (time.perf_counter(), time.thread_time())
        else:
            wall, cpu = self._started
            self.pauses.append(
                (info["generation"], time.perf_counter() - wall, time.thread_time() - cpu)
            )

    def summary(self) -> dict[str, Any]:
        def described(pauses: list[tuple[int, float, float]]) -> dict[str, Any]:
            return {
                "collections": len(pauses),
                "over_50ms": sum(1 for _, wall, _ in pauses if wall > 0.05),
                "max_ms": round(max((wall for _, wall, _ in pauses), default=0.0) * 1000, 1),
                "over_50ms_cpu": sum(1 for _, _, cpu in pauses if cpu > 0.05),
                "max_cpu_ms": round(max((cpu for _, _, cpu in pauses), default=0.0) * 1000, 1),
            }

        return {
            **described(self.pauses),
            "total_ms": round(sum(wall for _, wall, _ in self.pauses) * 1000, 1),
            "by_generation": {
                str(generation): described([p for p in self.pauses if p[0] == generation])
                for generation in (0, 1, 2)
                if any(p[0] == generation for p in self.pauses)
            },
        }


def _use_stock_transport() -> None:
    """Engine.IO's own socket and queue, and the whole handshake environ kept (the before)."""
    import engineio

    from server.realtime import server as realtime_server

    engine = realtime_server.DrainingEngineServer

    async def handle_connect(
        self: Any, environ: Any, transport: str, jsonp_index: Any = None
    ) -> Any:
        return await engineio.AsyncServer._handle_connect(self, environ, transport, jsonp_index)

    engine._handle_connect = handle_connect  # type: ignore[method-assign]
    engine.create_queue = engineio.AsyncServer.create_queue  # type: ignore[method-assign]
    realtime_server.handshake_environ = lambda environ: environ  # type: ignore[assignment]


def _types() -> collections.Counter[str]:
    return collections.Counter(
        f"{type(o).__module__}.{type(o).__qualname__}" for o in gc.get_objects()
    )


def _breakdown(
    before: tracemalloc.Snapshot, types: collections.Counter[str], count: int
) -> dict[str, Any]:
    """Traced bytes per connection by source file, tracked objects per connection by type."""
    grown = _types() - types  # before the snapshot, whose traces are tracked tuples
    after = tracemalloc.take_snapshot()
    by_file = after.compare_to(before, "filename")
    return {
        "traced_bytes_per_connection": round(sum(s.size_diff for s in by_file) / count),
        "bytes_by_file": {
            s.traceback[0].filename.split("site-packages/")[-1]: round(s.size_diff / count)
            for s in by_file[:20]
        },
        "objects_by_type": {
            name: round(n / count, 2) for name, n in grown.most_common(25) if n >= count / 2
        },
    }


def _full_collection_ms() -> float:
    started = time.perf_counter()
    gc.collect()
    return round((time.perf_counter() - started) * 1000, 1)


async def measure(
    count: int, thresholds: tuple[int, int, int], freeze_step: int, breakdown: bool = False
) -> dict[str, Any]:
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
            if breakdown:
                types = _types()
                tracemalloc.start()
                traced = tracemalloc.take_snapshot()
            connected = await generator.ask("storm", 600, count=count, url=url)
            report["connected"] = connected["connected"]
            report["connect_seconds"] = connected["seconds"]
            gc.collect()
            report["rss_kb_per_connection_first"] = round(
                (rss_mb(os.getpid()) - rss) * 1024 / max(connected["connected"], 1), 1
            )
            if breakdown:
                report["breakdown"] = _breakdown(traced, types, count)
                tracemalloc.stop()
            await generator.ask("drop", 600)
            connected = await generator.ask("storm", 600, count=count, url=url)
            gc.callbacks.remove(pauses)
            report["pauses_connect_drop_connect"] = pauses.summary()
            if freeze_step:
                watching.cancel()
                gc.unfreeze()
            gc.collect()
            report["connected_again"] = now = max(connected["connected"], 1)
            report["rss_kb_per_connection"] = round((rss_mb(os.getpid()) - rss) * 1024 / now, 1)
            report["tracked_objects_per_connection"] = round(
                (len(gc.get_objects()) - objects) / now, 1
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
    parser.add_argument("--transport", choices=("lean", "stock"), default="lean")
    parser.add_argument("--compare", type=int, default=0, help="K runs of each transport")
    parser.add_argument("--breakdown", action="store_true")
    args = parser.parse_args()
    if args.compare:
        _compare(args.compare, sys.argv[1:])
        return
    if args.transport == "stock":
        _use_stock_transport()
    if args.breakdown:
        args.freeze_step = 0  # frozen objects are not in gc.get_objects()
    low, middle, old = (int(part) for part in args.thresholds.split(","))
    import uvloop

    report = uvloop.run(
        measure(args.connections, (low, middle, old), args.freeze_step, args.breakdown)
    )
    report["transport"] = args.transport
    print(json.dumps(report, indent=2))


def _compare(runs: int, argv: list[str]) -> None:
    """Each transport `runs` times, alternating, each in a fresh process."""
    passed = [arg for arg in argv if not arg.startswith("--compare")]
    if "--compare" in argv:  # "--compare K": drop its value too
        at = argv.index("--compare")
        passed = argv[:at] + argv[at + 2 :]
    for _ in range(runs):
        for transport in ("stock", "lean"):
            command = [sys.executable, "-m", "bench.heap", *passed, "--transport", transport]
            subprocess.run(command, check=True, cwd=Path(__file__).resolve().parents[1])


if __name__ == "__main__":
    main()
