"""The processes of a throughput run: embedded services, the servers under test, load generators."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from bench.storm_probes import METRICS_TOKEN

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-secret-key-0123456789abcdef"
PASSWORD = "bench-password"
_RATE_LIMITS = (
    "MESSAGES_PER_SOCKET",
    "MESSAGES_PER_CONVERSATION",
    "VISITORS_PER_ADDRESS",
    "CONVERSATIONS_PER_ADDRESS",
    "CONVERSATIONS_PER_VISITOR",
    "REST_PER_TOKEN",
    "REST_PER_ADDRESS",
)


def raise_descriptor_limit() -> None:
    """Thousands of sockets need more descriptors than the usual soft limit; children inherit."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


@dataclass(frozen=True)
class Services:
    """PostgreSQL and Redis the Parley processes share, and where the run keeps its files."""

    dsn: str
    redis_url: str
    postgres_pid: int | None
    data_dir: Path


@contextlib.asynccontextmanager
async def embedded_services(durable: bool) -> AsyncIterator[Services]:
    """A throwaway embedded PostgreSQL (fsync on when durable) and Valkey for one run."""
    sys.path.insert(0, str(ROOT))
    from server.embedded import EmbeddedPostgres, EmbeddedValkey
    from server.store.migrations import migrate_dsn

    base = _run_directory()
    postgres = EmbeddedPostgres(base / "postgres", durable=durable)
    valkey = EmbeddedValkey(base / "valkey")
    try:
        dsn, redis_url = postgres.start(), valkey.start()
        await migrate_dsn(dsn)
        yield Services(dsn, redis_url, postgres.pid, base)
    finally:
        valkey.stop()
        postgres.stop()
        shutil.rmtree(base, ignore_errors=True)


def _run_directory() -> Path:
    base = Path(tempfile.mkdtemp(prefix="parley-throughput-"))
    base.chmod(0o755)  # the embedded PostgreSQL runs as an unprivileged user when we are root
    return base


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str
    log: Path
    redis_prefix: str = ""  # Parley's keys in the shared Redis (none for the bare server)

    def log_size(self) -> int:
        return self.log.stat().st_size if self.log.exists() else 0

    def errors_since(self, offset: int) -> int:
        """Lines of the server's log after `offset` that report an error or a traceback."""
        with self.log.open("rb") as log:
            log.seek(offset)
            text = log.read().decode(errors="replace")
        return sum(1 for line in text.splitlines() if "ERROR" in line or "Traceback" in line)


def start_parley(
    services: Services, count: int, tree: Path = ROOT, open_files: int = 0
) -> list[Server]:
    """`count` real `python -m server serve` processes sharing PostgreSQL and Redis, run from
    `tree` (another checkout's server measured with this checkout's bench); `open_files`, when
    set, is their open-files limit (soft and hard: a server raises its soft limit to the hard)."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if open_files > hard:  # lowering is always allowed; raising needs privileges
        raise ValueError(f"open files {open_files} is above this process's hard limit {hard}")
    prefix = f"tp{uuid.uuid4().hex[:6]}:"
    servers = []
    for index in range(count):
        port = free_port()
        env = {
            **os.environ,
            "DATABASE_URL": services.dsn,
            "REDIS_URL": services.redis_url,
            "PARLEY_SECRET_KEY": SECRET,
            "PARLEY_REDIS_PREFIX": prefix,
            "PARLEY_DATA_DIR": str(services.data_dir),
            "PARLEY_DEMO_ACCOUNTS": "false",
            "PARLEY_LOG_LEVEL": "WARNING",
            "PORT": str(port),
            "PARLEY_HOST": "127.0.0.1",
            # The load generators are not browsers; no origin to check. The generators open
            # many connections from one address, so the per-address cap is off too.
            "PARLEY_ALLOW_ANY_ORIGIN": "true",
            "PARLEY_MAX_CONNECTIONS_PER_ADDRESS": "0",
            # Every simulated client shares one address and sends far faster than a person:
            # abuse limits would measure themselves, not the message path.
            **{f"PARLEY_RATE_{name}": "100000000/1" for name in _RATE_LIMITS},
            # Sign-ins reserve an attempt per address until their password checks out: a
            # hundred agents signing in at once from one address would be throttled.
            "PARLEY_LOGIN_MAX_FAILURES_IP": "1000000",
            "PARLEY_UNANSWERED_TIMEOUT": "0",
            "PARLEY_KB_DEMO": "false",
            "PARLEY_ASSISTANT_MODE": "off",
            "PARLEY_DB_POOL_MAX": "20",
            "PARLEY_METRICS_TOKEN": METRICS_TOKEN,
        }
        servers.append(
            _spawn(
                [sys.executable, "-m", "server", "serve"],
                env,
                port,
                services.data_dir / f"parley-{index}.log",
                prefix,
                tree,
                open_files,
            )
        )
    return servers


def start_bare(data_dir: Path, backlog: int = 128) -> list[Server]:
    port = free_port()
    return [
        _spawn(
            [
                sys.executable,
                "-m",
                "bench.bare_server",
                "--port",
                str(port),
                "--backlog",
                str(backlog),
            ],
            dict(os.environ),
            port,
            data_dir / "bare.log",
        )
    ]


def _spawn(
    argv: list[str],
    env: dict[str, str],
    port: int,
    log: Path,
    redis_prefix: str = "",
    tree: Path = ROOT,
    open_files: int = 0,
) -> Server:
    def limit_open_files() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (open_files, open_files))

    with log.open("ab") as out:
        process = subprocess.Popen(
            argv,
            env=env,
            cwd=tree,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=limit_open_files if open_files else None,
        )
    return Server(process, f"http://127.0.0.1:{port}", log, redis_prefix)


async def wait_ready(servers: list[Server]) -> None:
    async with aiohttp.ClientSession() as http, asyncio.timeout(60):
        for server in servers:
            while True:
                if server.process.poll() is not None:
                    raise RuntimeError(f"{server.url} exited; see {server.log}")
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(f"{server.url}/readyz") as response:
                        if response.status == 200:
                            break
                await asyncio.sleep(0.1)  # polling a starting process; nothing to wait on


def stop(servers: list[Server]) -> None:
    for server in servers:
        server.process.terminate()
    for server in servers:
        try:
            server.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


async def seed_agents(dsn: str, count: int) -> list[tuple[str, str]]:
    """`count` agents, each the only member of a team of its own: a customer who asks for that
    team is assigned to that agent, so every conversation is in the state most messages are
    sent in (assigned, its agent following it) and no routing event reaches other pairs.
    Returns (email, team slug) pairs; one password hash serves them all."""
    from server.auth.passwords import hash_password

    password_hash = await hash_password(PASSWORD)
    run = uuid.uuid4().hex[:6]
    seeds = [(f"load{index}-{run}@example.test", f"load{index}-{run}") for index in range(count)]
    conn = await asyncpg.connect(dsn)
    try:
        await conn.executemany(
            "WITH team AS (INSERT INTO teams (slug, name) VALUES ($2, $2) RETURNING id), "
            "agent AS (INSERT INTO agents (email, display_name, password_hash) "
            "VALUES ($1, $2, $3) RETURNING id) "
            "INSERT INTO agent_teams SELECT agent.id, team.id FROM agent, team",
            [(email, team, password_hash) for email, team in seeds],
        )
    finally:
        await conn.close()
    return seeds


class Generator:
    """A `bench.load` process, asked one JSON command at a time (several may be in flight)."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def start(cls) -> Generator:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.load",
            cwd=ROOT,
            limit=64 * 1024 * 1024,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        return cls(process)

    async def ask(self, op: str, limit_s: float, **arguments: Any) -> dict[str, Any]:
        assert self.process.stdin is not None
        command_id = next(self._ids)
        answer = self._waiting[command_id] = asyncio.get_running_loop().create_future()
        self.process.stdin.write(
            json.dumps({"op": op, "id": command_id, **arguments}).encode() + b"\n"
        )
        await self.process.stdin.drain()
        async with asyncio.timeout(limit_s):
            result = await answer
        if "error" in result:
            raise RuntimeError(f"load generator failed at {op}: {result['error']}")
        return result

    async def quit(self) -> None:
        assert self.process.stdin is not None
        with contextlib.suppress(ConnectionError):
            self.process.stdin.write(b'{"op": "quit"}\n')
            await self.process.stdin.drain()
        try:
            async with asyncio.timeout(30):
                await self.process.wait()
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
        self._reader.cancel()

    async def _read(self) -> None:
        assert self.process.stdout is not None
        while line := await self.process.stdout.readline():
            result = json.loads(line)
            future = self._waiting.pop(result.pop("id"), None)
            if future is not None and not future.done():
                future.set_result(result)
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(RuntimeError("load generator exited"))


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0
