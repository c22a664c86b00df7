"""A Socket.IO client spoken frame by frame, and the payload shapes docs/protocol.md lists, for
tests that act as an independent client written from that document alone."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import defaultdict
from typing import Any

import aiohttp

from server.core.models import AgentRole
from tests.support import PASSWORD, RunningServer, create_agent

# Field sets exactly as docs/protocol.md lists them.
CONVERSATION = {
    "id", "customer_id", "status", "assigned_agent_id", "team_id", "last_seq", "metadata",
    "created_at", "updated_at", "last_message_at", "resolved_at", "priority", "waiting",
    "queued_at", "assigned_at", "owner",
}  # fmt: skip
MESSAGE = {
    "id", "conversation_id", "seq", "sender_kind", "sender_id", "sender_name", "client_id",
    "body", "visibility", "attachments", "metadata", "created_at",
}  # fmt: skip
SEND_ACK = {"message_id", "conversation_id", "seq", "client_id", "created_at", "duplicate"}
TYPING = {
    "conversation_id", "sender_kind", "sender_id", "sender_name", "typing", "internal",
    "expires_in",
}  # fmt: skip
RECEIPT = {"conversation_id", "reader_kind", "reader_id", "delivered_seq", "read_seq"}
QUEUE = {"conversation_id", "team_id", "position", "estimated_wait_seconds", "enough_data"}
QUEUE_ENTRY = {
    "conversation_id", "team_id", "position", "priority", "queued_at", "wait_seconds",
    "customer_name", "preview", "page_url", "owner",
}  # fmt: skip
CUSTOMER = {"id", "name", "email", "attributes", "identity_verified", "created_at"}
AGENT = {
    "id", "email", "display_name", "role", "max_chats", "is_active", "avatar_url", "created_at",
}  # fmt: skip


ATTACHMENT = {
    "id",
    "conversation_id",
    "filename",
    "content_type",
    "size_bytes",
    "created_at",
    "url",
}


class Refused(Exception):
    """The server answered the namespace connect with connect_error."""

    def __init__(self, payload: Any) -> None:
        super().__init__(payload)
        self.payload = payload


class WireClient:
    """A Socket.IO v5 client over a raw websocket: acks by id, every event kept in order."""

    def __init__(self, http: aiohttp.ClientSession, ws: Any, namespace: str) -> None:
        self.http = http
        self.ws = ws
        self.namespace = namespace
        self.events: dict[str, list[Any]] = defaultdict(list)
        self.acks: dict[int, asyncio.Future[Any]] = {}
        self.changed = asyncio.Event()
        self.next_id = 0
        self.reader: asyncio.Task[None] | None = None
        self.handshake: dict[str, Any] = {}
        self.closed_by_server = False  # an engine.io close packet came

    @classmethod
    async def open(cls, url: str, namespace: str, auth: dict[str, Any]) -> WireClient:
        http = aiohttp.ClientSession()
        ws = await http.ws_connect(f"{url}/socket.io/?EIO=4&transport=websocket")
        client = cls(http, ws, namespace)
        try:
            opening = await ws.receive_str(timeout=5)
            assert opening.startswith("0{"), opening
            client.handshake = json.loads(opening[1:])
            await ws.send_str(f"40{namespace},{json.dumps(auth)}")
            while True:
                packet = await client._packet()
                if packet.startswith(f"0{namespace},"):
                    break
                if packet.startswith(f"4{namespace},"):
                    raise Refused(json.loads(packet[len(namespace) + 2 :]))
                client._dispatch(packet)
        except BaseException:
            await client.close()
            raise
        client.reader = asyncio.create_task(client._read())
        return client

    async def _packet(self) -> str:
        while True:
            message = await self.ws.receive(timeout=10)
            if message.type != aiohttp.WSMsgType.TEXT:
                raise ConnectionError(f"socket ended: {message.type}")
            if message.data == "1":
                self.closed_by_server = True
                raise ConnectionError("the server closed the connection")
            if message.data == "2":
                await self.ws.send_str("3")
                continue
            assert message.data.startswith("4"), message.data
            return str(message.data[1:])

    def _dispatch(self, packet: str) -> None:
        if packet.startswith(f"1{self.namespace}"):
            raise ConnectionError("the server disconnected the namespace")
        head = f"{packet[0]}{self.namespace},"
        assert packet.startswith(head), packet
        rest = packet[len(head) :]
        digits = len(rest) - len(rest.lstrip("0123456789"))
        ack_id, body = rest[:digits], json.loads(rest[digits:])
        if packet[0] == "3":
            self.acks.pop(int(ack_id)).set_result(body[0])
        elif packet[0] == "2":
            self.events[body[0]].append(body[1])
            self.changed.set()

    async def _read(self) -> None:
        try:
            while True:
                self._dispatch(await self._packet())
        except ConnectionError:
            pass

    async def call(self, event: str, data: Any = None) -> Any:
        return await self.call_frame(json.dumps([event] if data is None else [event, data]))

    async def call_frame(self, frame: str) -> Any:
        """Send an event whose JSON array is written by hand; its ack."""
        self.next_id += 1
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.acks[self.next_id] = future
        await self.ws.send_str(f"42{self.namespace},{self.next_id}{frame}")
        return await asyncio.wait_for(future, 5)

    async def ok(self, event: str, data: Any = None) -> Any:
        ack = await self.call(event, data)
        assert set(ack) == {"ok", "data"} and ack["ok"] is True, ack
        return ack["data"]

    async def error(self, event: str, data: Any, code: str) -> dict[str, Any]:
        ack = await self.call(event, data)
        assert ack["ok"] is False and set(ack) == {"ok", "error"}, ack
        assert ack["error"]["code"] == code, ack
        assert set(ack["error"]) <= {"code", "message", "details"}
        assert isinstance(ack["error"]["message"], str)
        return dict(ack["error"])

    async def wait(self, event: str, count: int = 1) -> list[Any]:
        async def enough() -> list[Any]:
            while len(self.events[event]) < count:
                self.changed.clear()
                await self.changed.wait()
            return self.events[event]

        return await asyncio.wait_for(enough(), 5)

    async def close(self) -> None:
        if self.reader:
            self.reader.cancel()
        await self.ws.close()
        await self.http.close()


def is_uuid(value: Any) -> bool:
    try:
        return isinstance(value, str) and str(uuid.UUID(value)) == value
    except ValueError:
        return False


def check_conversation(conversation: dict[str, Any]) -> None:
    assert set(conversation) - {"assigned_agent"} == CONVERSATION, conversation
    assert is_uuid(conversation["id"]) and is_uuid(conversation["customer_id"])
    assert conversation["status"] in ("open", "resolved", "abandoned")
    assert conversation["owner"] in ("assistant", "queue", "human")
    assert type(conversation["last_seq"]) is int and type(conversation["priority"]) is int
    assert type(conversation["waiting"]) is bool
    assert conversation["created_at"].endswith("Z")


def check_message(message: dict[str, Any]) -> None:
    assert set(message) == MESSAGE, message
    assert is_uuid(message["id"]) and type(message["seq"]) is int
    assert message["visibility"] in ("public", "internal")
    assert message["attachments"] == [] and isinstance(message["metadata"], dict)
    assert message["created_at"].endswith("Z")


async def rest(
    method: str, url: str, token: str | None = None, body: Any = None
) -> tuple[int, dict[str, Any], Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, url, json=body, headers=headers) as response,
    ):
        return response.status, dict(response.headers), await response.json()


def error_of(status: int, body: Any, expected_status: int, code: str) -> dict[str, Any]:
    """The REST error envelope, checked: `{"ok": false, "error": {code, message, details?}}`."""
    assert status == expected_status, (status, body)
    assert set(body) == {"ok", "error"} and body["ok"] is False, body
    error = body["error"]
    assert set(error) <= {"code", "message", "details"} and {"code", "message"} <= set(error)
    assert error["code"] == code and isinstance(error["message"], str), body
    return dict(error)


async def sign_in(server: RunningServer, role: AgentRole = AgentRole.AGENT) -> dict[str, Any]:
    email = f"{uuid.uuid4().hex[:8]}@example.test"
    await create_agent(server.settings.database_url, email=email, name="Robin", role=role)
    status, _, body = await rest(
        "POST", f"{server.url}/api/v1/auth/login", body={"email": email, "password": PASSWORD}
    )
    assert status == 200 and body["ok"] is True, body
    data = body["data"]
    assert set(data) == {"token", "expires_at", "agent"}
    assert type(data["expires_at"]) is int and isinstance(data["token"], str)
    assert set(data["agent"]) == AGENT and data["agent"]["display_name"] == "Robin"
    return dict(data)


def send(conversation_id: str, client_id: str, body: str, **more: Any) -> dict[str, Any]:
    return {"conversation_id": conversation_id, "client_id": client_id, "body": body, **more}
