"""The zero-config owner keeps its embedded servers alive: a dead one comes back on its port."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
import redis.asyncio as redis

from server.embedded import EmbeddedPostgres, EmbeddedValkey
from server.embedded.supervisor import Supervisor
from tests.support import eventually


@pytest.fixture
def data_dir() -> Iterator[Path]:
    # As root PostgreSQL runs as `nobody`, which must be able to enter the directory.
    path = Path(tempfile.mkdtemp(prefix="parley-supervised-", dir="/var/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


async def _until(check, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    async def answered() -> bool:
        try:
            return bool(await check())
        except Exception:  # not back yet
            return False

    try:
        await eventually(answered, timeout=timeout, interval=0.1)
    except AssertionError:
        raise AssertionError("the server did not come back") from None


async def test_a_killed_valkey_and_postgres_come_back_on_their_ports(
    data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    valkey = EmbeddedValkey(data_dir / "valkey")
    postgres = EmbeddedPostgres(data_dir / "postgres")  # durable, as zero-config runs it
    redis_url = valkey.start()
    dsn = postgres.start()
    supervisor = Supervisor({"Valkey": valkey, "PostgreSQL": postgres}, interval=0.2)
    supervisor.start()
    client = redis.Redis.from_url(redis_url)
    try:
        conn = await asyncpg.connect(dsn)
        await conn.execute("CREATE TABLE kept (n int); INSERT INTO kept VALUES (1)")
        await conn.close()
        caplog.set_level(logging.WARNING, logger="server.embedded.supervisor")

        for pid in (valkey.pid, postgres.pid):
            assert pid is not None
            os.kill(pid, signal.SIGKILL)
        await _until(client.ping)

        async def kept() -> bool:
            conn = await asyncpg.connect(dsn, timeout=2)
            try:
                return bool(await conn.fetchval("SELECT n FROM kept") == 1)
            finally:
                await conn.close()

        await _until(kept)

        async def counted() -> bool:
            # The count moves once restart() returned, a moment after the server answers.
            return supervisor.restarts == {"Valkey": 1, "PostgreSQL": 1}

        await _until(counted, timeout=5)
        logged = [r.getMessage() for r in caplog.records]
        assert "embedded Valkey died; restarting it on its port" in logged
        assert "embedded PostgreSQL died; restarting it on its port" in logged
    finally:
        await client.aclose()
        supervisor.stop()
        valkey.stop()
        postgres.stop()
