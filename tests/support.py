"""Test helpers: a real Parley server on a free port, and real Socket.IO and HTTP clients."""

from __future__ import annotations

import asyncio
import heapq
import resource
import socket
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import asyncpg
import socketio
from aiohttp import web

from server.app import create_app
from server.auth.passwords import hash_password
from server.config import Settings
from server.connect_pacing import TurnPacer
from server.connection_budget import CappedSite, connection_budget
from server.core.models import AgentRole
from server.serving import LISTEN_BACKLOG
from server.store import agents as agent_store


async def eventually(
    check: Callable[[], Any], *, timeout: float = 5.0, interval: float = 0.05
) -> Any:
    """Poll an async check until it returns something truthy (a state to wait for); its
    result. The suite's one polling loop: tests wait on facts, never on a pause."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last: {result!r})")
        await asyncio.sleep(interval)


def eventually_sync(
    check: Callable[[], Any], *, timeout: float = 5.0, interval: float = 0.05
) -> Any:
    """`eventually` for tests that run without an event loop (processes, files)."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last: {result!r})")
        time.sleep(interval)


HEALTH_REQUEST = b"GET /healthz HTTP/1.1\r\nHost: parley\r\nConnection: close\r\n\r\n"


def request_burst(port: int, count: int, request: bytes = HEALTH_REQUEST) -> list[socket.socket]:
    """`count` connections, each with its request sent, opened without yielding to the event
    loop: the kernel completes them all and queues them for the server at once."""
    burst = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(request)
        sock.setblocking(False)
        burst.append(sock)
    return burst


async def read_to_close(sock: socket.socket) -> bytes:
    """Everything the server sends on `sock` until it closes it; closes `sock` too."""
    loop = asyncio.get_running_loop()
    answer = b""
    try:
        while chunk := await loop.sock_recv(sock, 4096):
            answer += chunk
    finally:
        sock.close()
    return answer


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class RunningServer:
    settings: Settings
    runner: web.AppRunner
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def app(self) -> web.Application:
        return self.runner.app

    async def stop(self) -> None:
        await self.runner.cleanup()


async def start_server(settings: Settings, port: int | None = None) -> RunningServer:
    port = port or free_port()
    settings = settings.with_overrides(port=port)
    runner = web.AppRunner(
        create_app(settings),
        handle_signals=False,
        shutdown_timeout=5,
        keepalive_timeout=settings.http_header_timeout_seconds,
    )
    await runner.setup()
    # Listening as `parley serve` does: past the connection cap, a 503 answer.
    open_files = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    budget = connection_budget(open_files, LISTEN_BACKLOG, settings.max_connections)
    # New connections paced as `parley serve` paces them (connect_pacing.py).
    pacer = TurnPacer(settings.connect_pace)
    site = CappedSite(
        runner,
        "127.0.0.1",
        port,
        cap=budget.cap,
        backlog=budget.backlog,
        pacer=pacer,
        room=budget.room,
        accept_ahead=settings.accept_ahead,
    )
    await site.start()
    return RunningServer(settings, runner, port)


class Servers:
    """The Parley servers of one test: the test's settings plus overrides, stopped at its end."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.running: list[RunningServer] = []

    async def start(self, **overrides: object) -> RunningServer:
        server = await start_server(self.settings.with_overrides(**overrides))
        self.running.append(server)
        return server

    async def restart(self, server: RunningServer) -> RunningServer:
        """Stop a server as a deploy does (it drains) and start a new one on its port."""
        await server.stop()
        self.running.remove(server)
        again = await start_server(server.settings, port=server.port)
        self.running.append(again)
        return again

    async def first(self) -> RunningServer:
        return self.running[0] if self.running else await self.start()

    async def stop_all(self) -> None:
        for server in reversed(self.running):
            await server.stop()
        self.running.clear()


PASSWORD = "correct horse battery"


async def create_agent(
    database_url: str,
    *,
    email: str | None = None,
    name: str = "Agent",
    role: AgentRole = AgentRole.AGENT,
    password: str = PASSWORD,
    max_chats: int | None = None,
    teams: tuple[str, ...] = ("support",),
) -> uuid.UUID:
    """An agent in the given teams (by slug; the default team "support" unless told)."""
    conn = await asyncpg.connect(database_url)
    try:
        agent = await agent_store.create(
            conn,
            email=email or f"{uuid.uuid4().hex[:8]}@example.test",
            display_name=name,
            role=role,
            password_hash=await hash_password(password),
            max_chats=max_chats,
        )
        await conn.execute(
            """
            INSERT INTO agent_teams (agent_id, team_id)
            SELECT $1, id FROM teams WHERE slug = ANY ($2::text[])
            """,
            agent.id,
            list(teams),
        )
        return agent.id
    finally:
        await conn.close()


async def login(base_url: str, email: str, password: str = PASSWORD) -> str:
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{base_url}/api/v1/auth/login", json={"email": email, "password": password}
        ) as response,
    ):
        body = await response.json()
        assert response.status == 200, body
        return str(body["data"]["token"])


async def agent_token(
    server: RunningServer,
    *,
    role: AgentRole = AgentRole.AGENT,
    name: str = "Agent",
    max_chats: int | None = None,
    teams: tuple[str, ...] = ("support",),
) -> tuple[uuid.UUID, str]:
    email = f"{uuid.uuid4().hex[:8]}@example.test"
    agent_id = await create_agent(
        server.settings.database_url,
        email=email,
        name=name,
        role=role,
        max_chats=max_chats,
        teams=teams,
    )
    return agent_id, await login(server.url, email)


class EventLog:
    """Records every event a client receives, and waits for the ones a test expects."""

    def __init__(self) -> None:
        self.events: dict[str, list[Any]] = defaultdict(list)
        self._changed = asyncio.Condition()

    async def record(self, name: str, data: Any) -> None:
        async with self._changed:
            self.events[name].append(data)
            self._changed.notify_all()

    async def wait_for(
        self,
        name: str,
        predicate: Callable[[Any], bool] = lambda _: True,
        *,
        count: int = 1,
        timeout: float = 5.0,
    ) -> list[Any]:
        async def matched() -> list[Any]:
            async with self._changed:
                while True:
                    found = [e for e in self.events[name] if predicate(e)]
                    if len(found) >= count:
                        return found
                    await self._changed.wait()

        return await asyncio.wait_for(matched(), timeout)

    def of(self, name: str) -> list[Any]:
        return list(self.events[name])


@dataclass
class Client:
    sio: socketio.AsyncClient
    namespace: str
    log: EventLog = field(default_factory=EventLog)

    async def call(self, event: str, data: Any = None, timeout: float = 5.0) -> Any:
        return await self.sio.call(event, data, namespace=self.namespace, timeout=timeout)

    async def ok(self, event: str, data: Any = None) -> Any:
        ack = await self.call(event, data)
        assert ack.get("ok") is True, ack
        return ack["data"]

    async def close(self) -> None:
        await self.sio.disconnect()


_EVENTS = (
    "message",
    "typing",
    "receipt",
    "presence",
    "conversation_updated",
    "_seq",
    "queue",
    "queue_updated",
    "assigned",
    "unassigned",
    "offer",
    "offer_withdrawn",
    "assistant_delta",
    "assistant_stream_ended",
    "reply_suggestion",
)


async def connect(base_url: str, namespace: str, token: str | None) -> Client:
    sio = socketio.AsyncClient(reconnection=False)
    client = Client(sio, namespace)
    for name in _EVENTS:
        sio.on(name, _recorder(client.log, name), namespace=namespace)
    await sio.connect(
        base_url,
        namespaces=[namespace],
        auth={"token": token} if token else {},
        transports=["websocket"],
        wait_timeout=5,
    )
    return client


def _recorder(log: EventLog, name: str) -> Callable[[Any], Any]:
    async def handler(data: Any) -> None:
        await log.record(name, data)

    return handler


async def customer(base_url: str, token: str | None = None) -> Client:
    return await connect(base_url, "/customer", token)


async def agent(base_url: str, token: str) -> Client:
    return await connect(base_url, "/agent", token)


@dataclass
class ServerProcess:
    """A `parley serve` child process: what a deployment runs, crash-able for real."""

    process: Any
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except Exception:
                self.kill()


def settings_environment(settings: Settings) -> dict[str, str]:
    return {
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "PARLEY_SECRET_KEY": settings.secret_key,
        "PARLEY_REDIS_PREFIX": settings.redis_prefix,
        "PARLEY_DATA_DIR": str(settings.data_dir),
        "PARLEY_DEMO_ACCOUNTS": "false",
        "PARLEY_KB_DEMO": "false",
        "PARLEY_ASSISTANT_MODE": settings.assistant_mode,
        "PARLEY_PRESENCE_TTL": str(settings.presence_ttl_seconds),
        "PARLEY_PRESENCE_HEARTBEAT": str(settings.presence_heartbeat_seconds),
        "PARLEY_PRESENCE_SWEEP": str(settings.presence_sweep_seconds),
        "PARLEY_TYPING_TIMEOUT": str(settings.typing_timeout_seconds),
        "PARLEY_DB_POOL_MIN": "1",
        "PARLEY_DB_POOL_MAX": "5",
        "PARLEY_LOG_LEVEL": "WARNING",
        "PARLEY_ALLOWED_ORIGINS": ",".join(settings.allowed_origins),
        "PARLEY_ALLOW_ANY_ORIGIN": "true",
    }


async def spawn_server(
    settings: Settings,
    timeout: float = 30.0,
    command: list[str] | None = None,
    cwd: str | None = None,
    port: int | None = None,
) -> ServerProcess:
    """Start `parley serve` (this interpreter's, unless `command` names another) until ready."""
    import os
    import subprocess
    import sys

    port = port or free_port()
    env = {**os.environ, **settings_environment(settings), "PORT": str(port)}
    command = command or [sys.executable, "-m", "server", "serve"]
    process = subprocess.Popen([*command, "--host", "127.0.0.1"], env=env, cwd=cwd)
    handle = ServerProcess(process, port)

    async def ready() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            async with http.get(f"{handle.url}/readyz") as response:
                return response.status == 200
        except aiohttp.ClientError:
            return False

    async with aiohttp.ClientSession() as http:
        try:
            await eventually(ready, timeout=timeout, interval=0.1)
        except AssertionError:
            handle.stop()
            raise TimeoutError("server did not become ready") from None
    return handle


class VirtualClock:
    """A clock tests move forward themselves (server.clock.Clock): sleepers wake in deadline
    order as `advance` passes their deadline, and `spend` stands for work that takes time."""

    def __init__(self) -> None:
        self.time = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._count = 0

    def now(self) -> float:
        return self.time

    async def sleep(self, seconds: float) -> None:
        future = asyncio.get_running_loop().create_future()
        self._count += 1
        heapq.heappush(self._sleepers, (self.time + max(0.0, seconds), self._count, future))
        await future

    def spend(self, seconds: float) -> None:
        self.time += seconds

    async def advance(self, seconds: float) -> None:
        """Let time pass: every task runs until it waits, and sleepers due by then wake."""
        end = self.time + seconds
        await _run_ready_tasks()
        while self._sleepers and self._sleepers[0][0] <= end:
            deadline, _, future = heapq.heappop(self._sleepers)
            self.time = max(self.time, deadline)
            if not future.done():
                future.set_result(None)
            await _run_ready_tasks()
        self.time = max(self.time, end)


async def _run_ready_tasks(rounds: int = 20) -> None:
    # Each round lets every ready task take one step; chains of awaits need a few.
    for _ in range(rounds):
        await asyncio.sleep(0)
