"""Clients that behave as the widget and the console do through restarts and outages: they
reconnect by themselves, resume from their last seq, and resend with the same client id."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Any

import socketio


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
    _ready: asyncio.Event = field(default_factory=asyncio.Event)
    _connected: asyncio.Event = field(default_factory=asyncio.Event)
    _resumer: asyncio.Task[None] | None = None
    _arrived: asyncio.Condition = field(default_factory=asyncio.Condition)

    def __post_init__(self) -> None:
        self.sio = socketio.AsyncClient(
            reconnection=True,
            reconnection_delay=0.05,
            reconnection_delay_max=0.5,
            randomization_factor=0.5,
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
            except Exception:
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


async def _pause() -> None:
    # A client's retry backoff, as the widget and the console have; never a test's synchronisation.
    await asyncio.sleep(0.05)
