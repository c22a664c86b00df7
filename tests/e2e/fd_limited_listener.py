"""A process serving one route under a small open-files limit, for tests/e2e/test_connection_budget.py.

    python -m tests.e2e.fd_limited_listener LIMIT PORT (serve | paced | stock)

`serve` listens the way `parley serve` does (server/serving.py); `paced` the same, with
connects paced and accepted a bounded number ahead (server/bounded_accept.py), as `parley
serve`'s defaults do; `stock` with aiohttp's own site and the same listen queue, as it did
before the connection budget.
"""

from __future__ import annotations

import asyncio
import resource
import sys

import uvloop
from aiohttp import web

from server.serving import LISTEN_BACKLOG, serve


async def _ok(request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def _stock(app: web.Application, port: int) -> None:
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port, backlog=LISTEN_BACKLOG).start()
    print("listening", flush=True)
    await asyncio.Event().wait()


def _listening() -> None:
    print("listening", flush=True)


def main() -> None:
    limit, port, how = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))
    app = web.Application()
    app.router.add_get("/", _ok)
    if how == "stock":
        uvloop.run(_stock(app, port))
    else:
        paced = {"connect_pace": 16, "accept_ahead": 256} if how == "paced" else {}
        uvloop.run(serve(app, "127.0.0.1", port, 1.0, on_listening=_listening, **paced))


if __name__ == "__main__":
    main()
