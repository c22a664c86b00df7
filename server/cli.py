"""The `parley` command: serve, migrate (and the knowledge-base tools as they land)."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import sys
from collections.abc import Sequence

from . import kb_cli
from .config import ConfigError, Settings, load_settings, refuse_open_origins
from .services import backing_services


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def _serve(settings: Settings) -> int:
    from aiohttp import web

    from .app import create_app

    # Fewer, larger young-generation collections: full collections over tens of thousands of
    # connection objects stall the loop for far longer than any message takes.
    gc.set_threshold(50_000, 50, 1_000)
    with backing_services(settings) as ready:
        app = create_app(ready)
        print(
            f"Parley is running: http://{ready.host}:{ready.port}/demo/ (customer demo), "
            f"http://{ready.host}:{ready.port}/console/ (agents)",
            flush=True,
        )
        web.run_app(
            app,
            host=ready.host,
            port=ready.port,
            print=None,
            loop=_new_loop(),
            # Sockets are closed explicitly on shutdown; don't wait a minute for stragglers.
            shutdown_timeout=10,
            # aiohttp closes a connection that has not sent a whole request by then (slowloris).
            keepalive_timeout=ready.http_header_timeout_seconds,
        )
    return 0


def _new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on POSIX
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def _migrate(settings: Settings) -> int:
    from .store.migrations import migrate_dsn

    with backing_services(settings) as ready:
        applied = asyncio.run(migrate_dsn(ready.database_url))
    names = ", ".join(f"{m.version:04d}_{m.name}" for m in applied) or "nothing to apply"
    print(f"migrations: {names}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="parley", description="Parley support chat server")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the server (embedded services when unset)")
    serve.add_argument("--host", help="listen address (PARLEY_HOST)")
    serve.add_argument("--port", type=int, help="listen port (PORT)")
    serve.add_argument(
        "--allow-any-origin",
        action="store_true",
        default=None,
        help="accept sockets from any website even with DATABASE_URL set (PARLEY_ALLOW_ANY_ORIGIN)",
    )
    commands.add_parser("migrate", help="apply pending database migrations and exit")
    kb_cli.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        overrides = {
            k: v
            for k, v in (
                ("host", getattr(args, "host", None)),
                ("port", getattr(args, "port", None)),
                ("allow_any_origin", getattr(args, "allow_any_origin", None)),
            )
            if v is not None
        }
        settings = load_settings(**overrides)
        if args.command == "serve":
            refuse_open_origins(settings)
    except ConfigError as exc:
        print(f"parley: configuration error: {exc}", file=sys.stderr)
        return 2
    _configure_logging(settings.log_level)
    if args.command == "serve":
        return _serve(settings)
    if args.command == "migrate":
        return _migrate(settings)
    if args.command == "kb":
        return kb_cli.run(args, settings)
    return 2
