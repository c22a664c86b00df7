"""Backing services for a process: the configured URLs, or embedded servers started for them."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

from .config import Settings

log = logging.getLogger(__name__)


@contextlib.contextmanager
def backing_services(settings: Settings) -> Iterator[Settings]:
    """Yield settings whose database_url and redis_url point at running servers.

    Whatever is not configured is started here, embedded, with its data under data_dir,
    restarted on its port if it dies, and stopped on exit. This process is the lifetime of
    the embedded servers: other processes pointed at them lose them when it exits.
    """
    from .embedded.supervisor import Restartable, Supervisor

    with contextlib.ExitStack() as stack:
        changes: dict[str, str] = {}
        embedded: dict[str, Restartable] = {}
        data_dir = Path(settings.data_dir).resolve()
        if not settings.database_url:
            from .embedded import EmbeddedPostgres

            postgres = stack.enter_context(EmbeddedPostgres(data_dir / "postgres"))
            changes["database_url"] = postgres.dsn
            embedded["PostgreSQL"] = postgres
            log.info("embedded PostgreSQL at %s", postgres.dsn)
        if not settings.redis_url:
            from .embedded import EmbeddedValkey

            valkey = stack.enter_context(EmbeddedValkey(data_dir / "valkey"))
            changes["redis_url"] = valkey.url
            embedded["Valkey"] = valkey
            log.info("embedded Valkey at %s", valkey.url)
        if embedded:
            supervisor = Supervisor(embedded)
            supervisor.start()
            stack.callback(supervisor.stop)  # before the servers stop: no restart on the way out
        yield settings.with_overrides(**changes) if changes else settings
