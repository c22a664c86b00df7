"""The `parley` command: serve, migrate (and the knowledge-base tools as they land)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from . import agents_cli, heap, kb_cli
from .bounded_accept import ListenError
from .config import ConfigError, Settings, load_settings, prepare_data_dir, refuse_open_origins
from .observability.logs import configure_logging
from .services import BackingServiceError, backing_services, connection_refusal


def _serve(settings: Settings) -> int:
    from .app import create_app
    from .banner import announce_when_ready, resolve_secret
    from .serving import serve

    # Before the embedded services start: whether DATABASE_URL was configured decides the tone.
    settings = settings.with_overrides(secret_key=resolve_secret(settings))
    # Collections sized for tens of thousands of connection objects (server/heap.py).
    heap.configure()
    with backing_services(settings, serving=True) as ready:
        app = create_app(ready)
        announcement: list[asyncio.Task[None]] = []  # holds the task until it is done
        loop = _new_loop()
        try:
            loop.run_until_complete(
                serve(
                    app,
                    ready.host,
                    ready.port,
                    ready.drain_seconds,
                    header_timeout_seconds=ready.http_header_timeout_seconds,
                    max_connections=ready.max_connections,
                    connect_pace=ready.connect_pace,
                    accept_ahead=ready.accept_ahead,
                    # Once listening (after migrations): the first screen follows when ready.
                    on_listening=lambda: announcement.append(announce_when_ready(app)),
                )
            )
        finally:
            loop.close()
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
        applied = asyncio.run(migrate_dsn(ready.database_url, ready.sql_dir))
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
    agents_cli.register(commands)
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
        if args.command in ("serve", "agents") or not (
            settings.database_url and settings.redis_url
        ):
            prepare_data_dir(settings)  # the token key, or the embedded services
    except ConfigError as exc:
        print(f"parley: configuration error: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.log_format, settings.instance)
    try:
        return _run(args, settings)
    except BackingServiceError as exc:
        print(f"parley: {exc}", file=sys.stderr)
        return 1
    except ListenError as exc:
        print(f"parley: {exc.strerror}; choose another with PORT or --port", file=sys.stderr)
        return 1
    except Exception as exc:
        refusal = connection_refusal(exc)
        if refusal is None:
            raise
        print(f"parley: {refusal}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "serve":
        return _serve(settings)
    if args.command == "migrate":
        return _migrate(settings)
    if args.command == "kb":
        return kb_cli.run(args, settings)
    if args.command == "agents":
        return agents_cli.run(args, settings)
    return 2
