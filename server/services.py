"""Backing services for a process: the configured URLs, or embedded servers started for them."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from .config import Settings

if TYPE_CHECKING:
    from .embedded.supervisor import Restartable

log = logging.getLogger(__name__)

_SERVICES = ("database_url", "redis_url")
_REACH_SECONDS = 5.0


class BackingServiceError(RuntimeError):
    """An embedded server could not be started, or belongs to another Parley process."""


@contextlib.contextmanager
def backing_services(settings: Settings, *, serving: bool = False) -> Iterator[Settings]:
    """Yield settings whose database_url and redis_url point at running servers.

    Whatever is not configured is started here, embedded, with its data under data_dir,
    restarted on its port if it dies, and stopped on exit. A command run while a zero-config
    `parley serve` runs on the same data_dir uses that server's embedded services instead
    (embedded/sharing.py). `serving` is for the server itself: it never borrows another
    process's services (they would stop with that process), refuses to start beside it, and
    announces its own for the commands run beside it.
    """
    from .embedded.sharing import announced, running_services

    if settings.database_url:
        _check_reachable(settings.database_url)
    data_dir = Path(settings.data_dir).resolve()
    missing = [name for name in _SERVICES if not getattr(settings, name)]
    running = running_services(data_dir) if missing else None
    if running is not None and serving:
        raise BackingServiceError(
            f"another Parley server (pid {running.pid}) runs the embedded services in "
            f"{data_dir}; stop it first, or set PARLEY_DATA_DIR to another directory"
        )
    borrowed: dict[str, str] = {}
    if running is not None:
        borrowed = {name: running.urls[name] for name in missing if name in running.urls}
        log.info("using the embedded services of the Parley server with pid %s", running.pid)
    with contextlib.ExitStack() as stack:
        started = _start_embedded(stack, data_dir, [n for n in missing if n not in borrowed])
        if serving and started:
            stack.enter_context(announced(data_dir, started))
        changes = {**borrowed, **started}
        yield settings.with_overrides(**changes) if changes else settings


def _start_embedded(
    stack: contextlib.ExitStack, data_dir: Path, names: list[str]
) -> dict[str, str]:
    """Start the embedded servers for the settings in `names`, supervised, stopped with
    `stack`; their URLs by setting name."""
    if not names:
        return {}
    from .embedded import EmbeddedPostgres, EmbeddedValkey
    from .embedded.pg_cluster import EmbeddedPostgresError
    from .embedded.supervisor import Supervisor
    from .embedded.valkey import EmbeddedValkeyError

    urls: dict[str, str] = {}
    embedded: dict[str, Restartable] = {}
    try:
        if "database_url" in names:
            postgres = stack.enter_context(EmbeddedPostgres(data_dir / "postgres"))
            urls["database_url"] = postgres.dsn
            embedded["PostgreSQL"] = postgres
            log.info("embedded PostgreSQL at %s", postgres.dsn)
        if "redis_url" in names:
            valkey = stack.enter_context(EmbeddedValkey(data_dir / "valkey"))
            urls["redis_url"] = valkey.url
            embedded["Valkey"] = valkey
            log.info("embedded Valkey at %s", valkey.url)
    except (EmbeddedPostgresError, EmbeddedValkeyError) as exc:
        raise BackingServiceError(str(exc)) from exc
    if embedded:
        supervisor = Supervisor(embedded)
        supervisor.start()
        stack.callback(supervisor.stop)  # before the servers stop: no restart on the way out
    return urls


def _check_reachable(database_url: str) -> None:
    """Fail in one line when nothing answers at DATABASE_URL's address, instead of with the
    driver's traceback from deep inside start-up. Redis is not checked: the server starts
    without it and reports itself not ready until it answers (`/readyz`)."""
    parts = urlsplit(database_url)
    try:
        host, port = parts.hostname, parts.port or 5432
    except ValueError:  # a malformed port: asyncpg's own error says so
        return
    if not host or host.startswith("/"):  # a Unix socket directory
        return
    from .embedded.processes import connect_error

    error = connect_error(host, port, _REACH_SECONDS)
    if error is not None:
        reason = error.strerror or str(error) or type(error).__name__
        raise BackingServiceError(
            f"cannot reach PostgreSQL at {host}:{port} (DATABASE_URL): {reason}"
        ) from error


def connection_refusal(exc: BaseException) -> str | None:
    """What to print, in one line, for PostgreSQL refusing a connection it answered (a wrong
    password, role or database name; too many clients); None for any other error."""
    import asyncpg

    refusals = (
        asyncpg.InvalidAuthorizationSpecificationError,  # role, password, pg_hba.conf
        asyncpg.InvalidCatalogNameError,  # no such database
        asyncpg.TooManyConnectionsError,
        asyncpg.CannotConnectNowError,  # starting up or shutting down
    )
    if isinstance(exc, refusals):
        return f"PostgreSQL refused the connection (DATABASE_URL): {exc}"
    return None
