"""The embedded PostgreSQL and Valkey servers, exercised for real: no mocks."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
import redis.asyncio as redis

from server.embedded import (
    EmbeddedPostgres,
    EmbeddedPostgresError,
    EmbeddedValkey,
    EmbeddedValkeyError,
)
from tests.support import eventually_sync

REPO_ROOT = Path(__file__).resolve().parents[2]
IS_ROOT = os.geteuid() == 0


def _make_traversable_dir() -> Path:
    # As root the server runs as `nobody`, which cannot enter pytest's 0700 tmp_path;
    # /var/tmp is world-traversable everywhere.
    path = Path(tempfile.mkdtemp(prefix="parley-embedded-test-", dir="/var/tmp"))
    path.chmod(0o755)
    return path


@pytest.fixture(scope="module")
def initialized_data_dir() -> Iterator[Path]:
    path = _make_traversable_dir()
    with EmbeddedPostgres(path, durable=False):
        pass  # initdb, a first start, a clean shutdown
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def data_dir() -> Iterator[Path]:
    path = _make_traversable_dir()
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def data_dir_with_cluster(initialized_data_dir: Path) -> Iterator[Path]:
    """A data dir holding a stopped cluster: copying one is faster than another initdb."""
    path = _make_traversable_dir()
    # cp -a keeps the owner: as root the cluster belongs to nobody, who must be able to write it.
    source = initialized_data_dir / "pgdata"
    subprocess.run(["cp", "-a", str(source), str(path / "pgdata")], check=True)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def postgres() -> Iterator[EmbeddedPostgres]:
    path = _make_traversable_dir()
    with EmbeddedPostgres(path / "shared", durable=False) as server:
        yield server
    shutil.rmtree(path, ignore_errors=True)


def _is_running(pid: int) -> bool:
    """True for a live process; a zombie (dead, not yet reaped) counts as gone."""
    try:
        stat_line = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):  # the process exited while we read
        return False
    return stat_line.rsplit(")", 1)[1].split()[0] != "Z"


def _pids_working_in(directory: Path) -> set[int]:
    """Processes whose cwd is `directory`: the postmaster and every backend chdir there."""
    pids = set()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if Path(os.readlink(proc / "cwd")) == directory.resolve():
                pids.add(int(proc.name))
        except OSError:
            continue
    return pids


def _wait_until_gone(pids: set[int], timeout: float = 10.0) -> set[int]:
    """The ones still running after `timeout` (none, normally)."""
    with contextlib.suppress(AssertionError):
        eventually_sync(lambda: not any(_is_running(pid) for pid in pids), timeout=timeout)
    return {pid for pid in pids if _is_running(pid)}


def _dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


async def _count_rows(dsn: str, table: str) -> int:
    connection = await asyncpg.connect(dsn)
    try:
        return int(await connection.fetchval(f"SELECT count(*) FROM {table}"))
    finally:
        await connection.close()


async def test_postgres_answers_nearest_neighbour_queries_through_an_hnsw_index(
    postgres: EmbeddedPostgres,
) -> None:
    assert postgres.dsn == f"postgresql://parley@127.0.0.1:{postgres.port}/parley"
    connection = await asyncpg.connect(postgres.dsn)
    try:
        await connection.execute("CREATE EXTENSION IF NOT EXISTS vector")
        await connection.execute("CREATE TABLE docs (id int PRIMARY KEY, embedding vector(3))")
        await connection.executemany(
            "INSERT INTO docs VALUES ($1, $2::vector)",
            [(i, f"[{i}, {i % 7}, {100 - i}]") for i in range(200)],
        )
        await connection.execute(
            "CREATE INDEX docs_embedding_hnsw ON docs USING hnsw (embedding vector_l2_ops)"
        )
        await connection.execute("SET enable_seqscan = off")
        nearest = "SELECT id FROM docs ORDER BY embedding <-> '[50, 1, 50]'::vector LIMIT 3"
        plan = "\n".join(row[0] for row in await connection.fetch(f"EXPLAIN {nearest}"))
        ids = [row["id"] for row in await connection.fetch(nearest)]
    finally:
        await connection.close()
    assert "docs_embedding_hnsw" in plan
    assert ids[0] == 50
    assert set(ids) <= {48, 49, 50, 51, 52}


async def test_databases_cloned_from_a_template_carry_its_schema_and_rows(
    postgres: EmbeddedPostgres,
) -> None:
    template_dsn = postgres.create_database("template_app")
    connection = await asyncpg.connect(template_dsn)
    await connection.execute("CREATE TABLE notes (body text); INSERT INTO notes VALUES ('hi')")
    await connection.close()

    clone_dsn = postgres.create_database("test_module_a", template="template_app")

    assert clone_dsn.endswith("/test_module_a")
    assert await _count_rows(clone_dsn, "notes") == 1
    lingering = await asyncpg.connect(clone_dsn)  # drop must not wait for leaked sessions
    postgres.drop_database("test_module_a")
    postgres.drop_database("template_app")
    postgres.drop_database("never_created")
    assert lingering.is_closed() or not await _still_connected(lingering)
    with pytest.raises(asyncpg.InvalidCatalogNameError):
        await asyncpg.connect(clone_dsn)


async def _still_connected(connection: asyncpg.Connection) -> bool:
    try:
        await connection.fetchval("SELECT 1")
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
        return False
    return True


def test_database_names_must_be_plain_identifiers(postgres: EmbeddedPostgres) -> None:
    with pytest.raises(ValueError, match="identifier"):
        postgres.create_database('x"; DROP DATABASE parley; --')


def test_a_second_server_on_a_live_cluster_fails_clearly(postgres: EmbeddedPostgres) -> None:
    intruder = EmbeddedPostgres(postgres.log_path.parent, durable=False)
    with pytest.raises(EmbeddedPostgresError, match=rf"\(pid {postgres.pid}\) is already running"):
        intruder.start()
    assert _is_running(postgres.pid or 0)


async def test_restart_is_fast_and_keeps_data(data_dir_with_cluster: Path) -> None:
    server = EmbeddedPostgres(data_dir_with_cluster, durable=False)
    connection = await asyncpg.connect(server.start())
    await connection.execute("CREATE TABLE kept (n int); INSERT INTO kept VALUES (1), (2)")
    await connection.close()
    server.stop()

    started = time.monotonic()
    dsn = server.start()
    warm_start_seconds = time.monotonic() - started
    try:
        assert await _count_rows(dsn, "kept") == 2
    finally:
        server.stop()
    assert warm_start_seconds < 2.0


def test_a_requested_port_that_is_taken_fails_fast(data_dir: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        with pytest.raises(EmbeddedValkeyError, match=f"port {port} .* already in use"):
            EmbeddedValkey(data_dir, port=port).start()
        with pytest.raises(EmbeddedPostgresError, match=f"port {port} .* already in use"):
            EmbeddedPostgres(data_dir, port=port, durable=False).start()


def test_a_server_that_cannot_start_fails_with_its_log(
    data_dir_with_cluster: Path,
) -> None:
    server = EmbeddedPostgres(data_dir_with_cluster, durable=False)
    server.start()
    server.stop()
    # A setting PostgreSQL rejects at startup, appended to the cluster's own configuration.
    with (server.cluster_dir / "postgresql.conf").open("a") as conf:
        conf.write("shared_buffers = 'lots'\n")
    with pytest.raises(EmbeddedPostgresError, match=r"(?s)exited with status 1.*shared_buffers"):
        server.start()
    assert server.pid is None


def test_a_stale_postmaster_pid_is_recovered_from(data_dir_with_cluster: Path) -> None:
    server = EmbeddedPostgres(data_dir_with_cluster, durable=False)
    server.start()
    server.stop()
    pid_file = server.cluster_dir / "postmaster.pid"
    # A crash leaves the file behind; its pid is then dead, or reused by an unrelated process.
    for stale_pid in (_dead_pid(), os.getpid()):
        pid_file.write_text(f"{stale_pid}\n{server.cluster_dir}\n1700000000\n5432\n\n\n\n")
        server.start()
        try:
            assert pid_file.read_text().split("\n", 1)[0] == str(server.pid)
        finally:
            server.stop()


async def _next_message(pubsub: redis.client.PubSub) -> dict[str, str] | None:
    # get_message returns None after skipping a subscribe confirmation; keep reading.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1)
        if message is not None:
            return message
    return None


async def test_valkey_serves_pubsub_lua_and_streams(data_dir: Path) -> None:
    with EmbeddedValkey(data_dir) as valkey:
        assert valkey.url == f"redis://127.0.0.1:{valkey.port}/0"
        client = redis.from_url(valkey.url, decode_responses=True)
        try:
            pubsub = client.pubsub()
            await pubsub.subscribe("room:1")
            assert await client.publish("room:1", "hello") == 1
            message = await _next_message(pubsub)
            await pubsub.aclose()
            doubled = await client.eval("return tonumber(ARGV[1]) * 2", 0, "21")
            await client.xadd("queue", {"conversation": "42"})
            entries = await client.xrange("queue")
            persistence = await client.config_get("save")
            persistence |= await client.config_get("appendonly")
        finally:
            await client.aclose()
    assert message is not None and message["data"] == "hello"
    assert doubled == 42
    assert entries[0][1] == {"conversation": "42"}
    assert persistence == {"save": "", "appendonly": "no"}
    assert (data_dir / "valkey.log").is_file()


async def test_stop_leaves_no_process_behind(data_dir_with_cluster: Path) -> None:
    postgres = EmbeddedPostgres(data_dir_with_cluster, durable=False)
    valkey = EmbeddedValkey(data_dir_with_cluster)
    client_session = await asyncpg.connect(postgres.start())  # its backend must go too
    valkey.start()
    postgres_pids = _pids_working_in(postgres.cluster_dir)
    valkey_pid = valkey.pid
    assert postgres.pid in postgres_pids and len(postgres_pids) > 2
    assert valkey_pid is not None

    postgres.stop()
    valkey.stop()
    postgres.stop()  # idempotent

    assert not _wait_until_gone({*postgres_pids, valkey_pid}, timeout=1)
    assert not _pids_working_in(postgres.cluster_dir)
    assert not await _still_connected(client_session)
    await client_session.close(timeout=1)


_PARENT_SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from server.embedded import EmbeddedPostgres, EmbeddedValkey

    data_dir = Path(sys.argv[1])
    postgres = EmbeddedPostgres(data_dir, durable=False)
    valkey = EmbeddedValkey(data_dir)
    postgres.start()
    valkey.start()
    print(json.dumps({"postgres": postgres.pid, "valkey": valkey.pid}), flush=True)
    time.sleep(60)
    """
)


def test_servers_die_with_their_parent(data_dir_with_cluster: Path) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", _PARENT_SCRIPT, str(data_dir_with_cluster)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert parent.stdout is not None
    children = set(json.loads(parent.stdout.readline()).values())
    cluster_pids = _pids_working_in(data_dir_with_cluster / "pgdata")
    assert children and cluster_pids

    parent.kill()  # SIGKILL: no atexit, no cleanup code runs
    parent.wait()

    survivors = _wait_until_gone(children | cluster_pids)
    for pid in survivors:  # don't leak them into the rest of the session
        os.kill(pid, signal.SIGKILL)
    assert not survivors


def test_as_root_a_cluster_nobody_cannot_reach_is_moved_and_owned_by_nobody(
    tmp_path: Path,
) -> None:
    # Parley's CI and the zero-config start run as root; that is the case worth proving.
    assert IS_ROOT, "this check needs root (as CI runs it)"
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    server = EmbeddedPostgres(private / "data", durable=False)
    server.start()
    try:
        cluster = server.cluster_dir
        assert not cluster.is_relative_to(private)
        assert cluster.owner() == "nobody"
        assert cluster.stat().st_mode & 0o777 == 0o700
        assert (private / "data" / "postgres.log").is_file()
    finally:
        server.stop()
        shutil.rmtree(server.cluster_dir, ignore_errors=True)
