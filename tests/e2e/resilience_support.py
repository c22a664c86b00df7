"""Clients that behave as the widget and the console do through restarts and outages: they
reconnect by themselves, resume from their last seq, and resend with the same client id."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import asyncpg
import socketio

from tests.support import create_agent, customer, login


@dataclass
class ResumingClient:
    """One socket following one conversation; every `message` it is given is recorded."""

    url: str
    namespace: str
    token: str | None
    conversation_id: str = ""
    seqs: list[int] = field(default_factory=list)
    bodies: list[str] = field(default_factory=list)
    disconnect_reasons: list[str] = field(default_factory=list)
    # Every error ack a send got (a retry follows each): an ack must never lie about a commit.
    send_errors: list[str] = field(default_factory=list)
    connects: int = 0
    # Bind to this loopback address (127.0.0.x), so that a proxy hashing client addresses
    # sends different clients to different processes.
    local_address: str | None = None
    # How long each outage lasted, from the disconnect until the conversation was resumed.
    outages: list[float] = field(default_factory=list)
    _lost_at: float | None = None
    _ready: asyncio.Event = field(default_factory=asyncio.Event)
    _connected: asyncio.Event = field(default_factory=asyncio.Event)
    _resumer: asyncio.Task[None] | None = None
    _arrived: asyncio.Condition = field(default_factory=asyncio.Condition)

    def __post_init__(self) -> None:
        self._http: aiohttp.ClientSession | None = None
        options: dict[str, Any] = {}
        if self.local_address is not None:
            connector = aiohttp.TCPConnector(local_addr=(self.local_address, 0))
            self._http = aiohttp.ClientSession(connector=connector)
            options["http_session"] = self._http
        self.sio = socketio.AsyncClient(
            reconnection=True,
            reconnection_delay=0.05,
            reconnection_delay_max=0.5,
            randomization_factor=0.5,
            **options,
        )
        self.sio.on("connect", self._on_connect, namespace=self.namespace)
        self.sio.on("disconnect", self._on_disconnect, namespace=self.namespace)
        self.sio.on("message", self._on_message, namespace=self.namespace)

    @property
    def last_seq(self) -> int:
        return self.seqs[-1] if self.seqs else 0

    async def connect(self) -> None:
        await self.sio.connect(
            self.url,
            namespaces=[self.namespace],
            auth={"token": self.token} if self.token else {},
            transports=["websocket"],
            wait_timeout=5,
        )

    async def follow(self, conversation_id: str, timeout: float = 5.0) -> None:
        """Follow the conversation now and after every reconnect."""
        self.conversation_id = conversation_id
        self._resumer = asyncio.create_task(self._resume_forever())
        await self.wait_ready(timeout)

    async def start(self, timeout: float = 5.0) -> None:
        await self.connect()
        await self.follow(self.conversation_id, timeout)

    async def wait_ready(self, timeout: float = 5.0) -> None:
        await asyncio.wait_for(self._ready.wait(), timeout)

    async def _on_connect(self) -> None:
        self.connects += 1
        self._connected.set()

    async def _on_disconnect(self, reason: Any = None) -> None:
        self.disconnect_reasons.append(str(reason))
        self._lost_at = asyncio.get_running_loop().time()
        self._ready.clear()
        self._connected.clear()

    async def _on_message(self, data: dict[str, Any]) -> None:
        async with self._arrived:
            self.seqs.append(data["seq"])
            self.bodies.append(data["body"])
            self._arrived.notify_all()

    async def wait_count(self, count: int, timeout: float = 10.0) -> None:
        """Until `count` messages were delivered to this socket (in all)."""

        async def enough() -> None:
            async with self._arrived:
                await self._arrived.wait_for(lambda: len(self.seqs) >= count)

        await asyncio.wait_for(enough(), timeout)

    async def _resume_forever(self) -> None:
        # Outside the event handler: a call made inside it would wait on its own reader.
        opener = "resume" if self.namespace == "/customer" else "join"
        while True:
            await self._connected.wait()
            payload = {"conversation_id": self.conversation_id, "after_seq": self.last_seq}
            try:
                ack = await self.sio.call(opener, payload, namespace=self.namespace, timeout=3)
            except Exception:
                await _pause()  # the socket dropped again; wait for the next connect
                continue
            if ack.get("ok"):
                if self._lost_at is not None:
                    self.outages.append(asyncio.get_running_loop().time() - self._lost_at)
                    self._lost_at = None
                self._ready.set()
                self._connected.clear()
            else:
                await _pause()

    async def send(self, body: str, client_id: str, deadline: float = 20.0) -> dict[str, Any]:
        """Send until acknowledged, always with the same client id."""
        loop = asyncio.get_running_loop()
        give_up = loop.time() + deadline
        payload = {"conversation_id": self.conversation_id, "client_id": client_id, "body": body}
        while loop.time() < give_up:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._ready.wait(), give_up - loop.time())
            try:
                ack = await self.sio.call(
                    "send_message", payload, namespace=self.namespace, timeout=3
                )
            except Exception as exc:
                self.send_errors.append(type(exc).__name__)
                await _pause()
                continue
            if ack.get("ok"):
                return dict(ack["data"])
            self.send_errors.append(ack["error"]["code"])
            if ack["error"]["code"] not in ("unavailable", "internal"):
                raise AssertionError(ack)
            await _pause()
        raise TimeoutError(f"{client_id} was never acknowledged")

    async def close(self) -> None:
        if self._resumer is not None:
            self._resumer.cancel()
        await self.sio.disconnect()
        if self._http is not None:
            await self._http.close()


async def _pause() -> None:
    # A client's retry backoff, as the widget and the console have; never a test's synchronisation.
    await asyncio.sleep(0.05)


@dataclass
class LiveChat:
    """A customer and an agent, each on their own process, both writing into one conversation."""

    customer: ResumingClient
    agent: ResumingClient
    database_url: str
    sent: list[str] = field(default_factory=list)

    @property
    def conversation_id(self) -> str:
        return self.customer.conversation_id

    async def talk_through(
        self, fault: Callable[[], Awaitable[float]], *, before: int = 10
    ) -> float:
        """Both sides send, one message after another; after `before` messages the fault runs
        (returning when the service is back, as a loop time); sending stops once it is over.
        Returns that loop time."""
        over = asyncio.Event()
        started = asyncio.Event()
        talkers = asyncio.ensure_future(self.talk_until(over, started, before))
        await started.wait()
        back_at = await fault()
        over.set()
        await asyncio.wait_for(talkers, 70)
        return back_at

    async def talk_until(self, over: asyncio.Event, started: asyncio.Event, before: int) -> None:
        """Both sides send until `over`; `started` is set once `before` messages went out."""

        async def talk(side: ResumingClient, who: str) -> None:
            i = 0
            while not over.is_set():
                client_id = f"{who}-{i}"
                await side.send(client_id, client_id, deadline=60)
                self.sent.append(client_id)
                i += 1
                if len(self.sent) >= before:
                    started.set()
                await _pause()

        await asyncio.gather(talk(self.customer, "c"), talk(self.agent, "a"))

    async def assert_exactly_once(self) -> None:
        """One more message from each side, then: sent = stored = delivered once, in order."""
        for side, who in ((self.customer, "c"), (self.agent, "a")):
            await side.send(f"{who}-last", f"{who}-last")
            self.sent.append(f"{who}-last")
        total = len(self.sent)
        for side in (self.customer, self.agent):
            await side.wait_count(total, timeout=15)
            assert side.seqs == list(range(1, total + 1))
            assert sorted(side.bodies) == sorted(self.sent)
        conn = await asyncpg.connect(self.database_url)
        try:
            stored = await conn.fetch(
                "SELECT seq, client_id FROM messages WHERE conversation_id = $1 ORDER BY seq",
                uuid.UUID(self.conversation_id),
            )
        finally:
            await conn.close()
        assert [r["seq"] for r in stored] == list(range(1, total + 1))
        assert sorted(r["client_id"] for r in stored) == sorted(self.sent)
        # What each side sent arrived in the order it was sent.
        for who in ("c", "a"):
            mine = [b for b in self.customer.bodies if b.startswith(f"{who}-")]
            assert mine == [c for c in self.sent if c.startswith(f"{who}-")]

    async def close(self) -> None:
        await self.customer.close()
        await self.agent.close()


async def live_chat(
    database_url: str,
    customer_url: str,
    agent_url: str,
    *,
    customer_address: str | None = None,
    agent_address: str | None = None,
) -> LiveChat:
    email = f"agent-{uuid.uuid4().hex[:8]}@example.test"
    await create_agent(database_url, email=email, name="Robin")
    token = await login(agent_url, email)
    # The agent is online first, so that the chat is routed to them (the least loaded).
    staff = ResumingClient(agent_url, "/agent", token, local_address=agent_address)
    await staff.connect()
    probe = await customer(customer_url)
    visitor = (await probe.ok("session"))["visitor_token"]
    conversation_id = (await probe.ok("start_conversation", {"name": "Casey"}))["conversation"][
        "id"
    ]
    await probe.close()
    cust = ResumingClient(
        customer_url, "/customer", visitor, conversation_id, local_address=customer_address
    )
    await cust.start()
    await staff.follow(conversation_id)
    return LiveChat(cust, staff, database_url)


async def hold(seconds: float) -> None:
    """How long a fault lasts (an outage, a pause): what is tested, not a synchronisation."""
    await asyncio.sleep(seconds)
