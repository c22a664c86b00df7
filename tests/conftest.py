"""Session-wide real services: one embedded PostgreSQL and one embedded Valkey for the whole run.

Each test gets a clean database (tables truncated) and its own Redis key prefix, so tests never
see each other's state. Nothing here is a mock.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio

from server.config import Settings, load_settings
from server.embedded import EmbeddedPostgres, EmbeddedValkey
from server.store.migrations import migrate_dsn
from tests.fake_openai import FakeOpenAI
from tests.pgbouncer import PgBouncer
from tests.support import RunningServer, Servers

TEST_SECRET = "test-secret-key-0123456789abcdef"


@pytest.fixture(scope="session")
def services_dir() -> Iterator[Path]:
    base = Path(tempfile.mkdtemp(prefix="parley-test-"))
    base.chmod(0o755)  # the embedded PostgreSQL runs as an unprivileged user when we are root
    yield base
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def embedded_postgres(services_dir: Path) -> Iterator[EmbeddedPostgres]:
    server = EmbeddedPostgres(services_dir / "postgres", durable=False)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_url(services_dir: Path) -> Iterator[str]:
    server = EmbeddedValkey(services_dir / "valkey")
    yield server.start()
    server.stop()


@pytest_asyncio.fixture(scope="session")
async def database_url(embedded_postgres: EmbeddedPostgres) -> str:
    dsn = embedded_postgres.create_database("parley_test")
    await migrate_dsn(dsn)
    return dsn


@pytest.fixture(scope="session")
def pgbouncer(services_dir: Path, embedded_postgres: EmbeddedPostgres) -> Iterator[PgBouncer]:
    """PgBouncer in transaction mode in front of the session's PostgreSQL (Supabase's pooler)."""
    bouncer = PgBouncer(services_dir / "pgbouncer", embedded_postgres.port, ("parley",)).start()
    yield bouncer
    bouncer.stop()


_KEEP = {"schema_migrations"}


@pytest_asyncio.fixture
async def clean_database(database_url: str) -> AsyncIterator[str]:
    """The migrated test database with every table emptied before the test."""
    conn = await asyncpg.connect(database_url)
    try:
        tables = [
            r["tablename"]
            for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            if r["tablename"] not in _KEEP
        ]
        if tables:
            await conn.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
    finally:
        await conn.close()
    yield database_url


@pytest.fixture
def settings(clean_database: str, redis_url: str, tmp_path: Path) -> Settings:
    return test_settings(clean_database, redis_url, tmp_path)


def test_settings(
    database_url: str, redis_url: str, data_dir: Path, **overrides: object
) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "redis_url": redis_url,
        "data_dir": data_dir,
        "secret_key": TEST_SECRET,
        "redis_prefix": f"t{uuid.uuid4().hex[:10]}:",
        "create_demo_accounts": False,
        # The demo help center is seeded only by the tests about seeding: embedding it in the
        # background of every test server would cost seconds of CPU each time.
        "kb_seed_demo": False,
        # The assistant joins conversations only in the tests about it: elsewhere its messages
        # would shift every sequence number a test expects.
        "assistant_mode": "off",
        "presence_ttl_seconds": 3.0,
        "presence_heartbeat_seconds": 1.0,
        "presence_sweep_seconds": 0.5,
        # Freezing the heap is process-wide: many test servers share this process.
        "gc_freeze_step": 0,
        "typing_timeout_seconds": 1.0,
        "db_pool_min": 1,
        "db_pool_max": 5,
    }
    values.update(overrides)
    return load_settings(environ={}, **values)


@pytest_asyncio.fixture
async def servers(settings: Settings) -> AsyncIterator[Servers]:
    """Start any number of servers with `await servers.start(**overrides)`; all stop after the
    test (and, in browser tests, after the browser closed its pages: an open page's socket
    would hold a stopping server until its ping timeout)."""
    registry = Servers(settings)
    yield registry
    await registry.stop_all()


@pytest.fixture
def server_options() -> dict[str, object]:
    """Settings overrides for the `server` fixture; a test module overrides this fixture."""
    return {}


@pytest_asyncio.fixture
async def server(servers: Servers, server_options: dict[str, object]) -> RunningServer:
    """One real Parley server on a free port, against the session's real services."""
    return await servers.start(**server_options)


@pytest_asyncio.fixture
async def fake_openai() -> AsyncIterator[FakeOpenAI]:
    """A local HTTP server speaking the OpenAI protocol (the one external boundary faked)."""
    fake = await FakeOpenAI().start()
    yield fake
    await fake.stop()


@pytest.fixture(autouse=True)
def _no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # Test traffic stays on loopback even where a proxy is configured.
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
