"""An independent client's walk through docs/protocol.md: raw Socket.IO frames and plain HTTP,
written from the document alone, asserting the exact payloads it promises."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import defaultdict
from typing import Any

import aiohttp

from server.core.models import AgentRole
from tests.support import PASSWORD, RunningServer, Servers, create_agent

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
AGENT = {
    "id", "email", "display_name", "role", "max_chats", "is_active", "avatar_url", "created_at",
}  # fmt: skip


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

    @classmethod
    async def open(cls, url: str, namespace: str, auth: dict[str, Any]) -> WireClient:
        http = aiohttp.ClientSession()
        ws = await http.ws_connect(f"{url}/socket.io/?EIO=4&transport=websocket")
        client = cls(http, ws, namespace)
        try:
            opening = await ws.receive_str(timeout=5)
            assert opening.startswith("0{"), opening
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
            if message.data == "2":
                await self.ws.send_str("3")
                continue
            assert message.data.startswith("4"), message.data
            return str(message.data[1:])

    def _dispatch(self, packet: str) -> None:
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
        self.next_id += 1
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.acks[self.next_id] = future
        frame = json.dumps([event] if data is None else [event, data])
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


async def test_a_visitor_starts_a_conversation_and_sends_messages(servers: Servers) -> None:
    server = await servers.start()
    visitor = await WireClient.open(server.url, "/customer", {})
    session = await visitor.ok("session")
    assert set(session) == {"customer_id", "visitor_token", "assistant"}
    assert is_uuid(session["customer_id"]) and isinstance(session["visitor_token"], str)
    assert set(session["assistant"]) == {"name", "avatar_url"}

    started = await visitor.ok("start_conversation", {"name": "Casey", "page_url": "https://x/"})
    assert set(started) == {"conversation", "delivered_up_to", "created", "queue"}
    assert started["created"] is True and started["delivered_up_to"] == 0
    conversation = started["conversation"]
    check_conversation(conversation)
    assert conversation["metadata"] == {"page_url": "https://x/"}
    assert conversation["customer_id"] == session["customer_id"]
    # Nobody online: it waits in line, and the ack says where.
    assert set(started["queue"]) == QUEUE and started["queue"]["position"] == 1
    assert started["queue"]["conversation_id"] == conversation["id"]
    updated = (await visitor.wait("conversation_updated"))[0]
    assert updated["reason"] == "created" and set(updated) == {"conversation", "reason"}
    check_conversation(updated["conversation"])

    conversation_id = conversation["id"]
    client_id = str(uuid.uuid4())
    ack = await visitor.ok("send_message", send(conversation_id, client_id, "My invoice"))
    assert set(ack) == SEND_ACK
    assert is_uuid(ack["message_id"]) and ack["conversation_id"] == conversation_id
    assert ack["seq"] == 1 and ack["client_id"] == client_id and ack["duplicate"] is False
    assert ack["created_at"].endswith("+00:00")

    # The sender's own socket follows the conversation, so it gets its message too.
    message = (await visitor.wait("message"))[0]
    check_message(message)
    assert message["id"] == ack["message_id"] and message["client_id"] == client_id
    assert message["sender_kind"] == "customer" and message["sender_name"] == "Casey"
    assert message["sender_id"] == session["customer_id"] and message["body"] == "My invoice"

    again = await visitor.ok("send_message", send(conversation_id, client_id, "My invoice"))
    assert again == {**ack, "duplicate": True}
    # No event for the retry: the next message is the next one this socket sees.
    later = await visitor.ok("send_message", send(conversation_id, str(uuid.uuid4()), "Hello?"))
    assert later["seq"] == 2
    messages = await visitor.wait("message", 2)
    assert [m["seq"] for m in messages] == [1, 2]

    listed = await visitor.ok("list_conversations", {"limit": 5})
    assert set(listed) == {"conversations"} and len(listed["conversations"]) == 1
    page = await visitor.ok("history", {"conversation_id": conversation_id, "limit": 1})
    assert set(page) == {"messages", "has_more"} and page["has_more"] is True
    assert [m["seq"] for m in page["messages"]] == [2]
    assert await visitor.ok("leave", {"conversation_id": conversation_id}) is None
    await visitor.close()


async def test_documented_error_acks(servers: Servers) -> None:
    server = await servers.start()
    visitor = await WireClient.open(server.url, "/customer", {})
    conversation_id = (await visitor.ok("start_conversation"))["conversation"]["id"]
    stranger = str(uuid.uuid4())

    message = (await visitor.error("xyz", {}, "bad_request"))["message"]
    assert message == "unknown event 'xyz'"
    await visitor.error("resolve", {"conversation_id": conversation_id}, "bad_request")
    await visitor.error("history", "not an object", "bad_request")
    limit = await visitor.error("list_conversations", {"limit": 500}, "bad_request")
    assert "$.limit" in limit["message"]
    await visitor.error("session", {"extra": 1}, "unknown_field")
    await visitor.error("history", {"conversation_id": stranger}, "not_found")
    await visitor.error("resume", {"conversation_id": stranger}, "not_found")
    await visitor.error("send_message", send(stranger, str(uuid.uuid4()), "hello"), "not_found")
    # Typing needs the socket to follow the conversation.
    second = await WireClient.open(
        server.url, "/customer", {"token": (await visitor.ok("session"))["visitor_token"]}
    )
    await second.error("typing", {"conversation_id": conversation_id, "typing": True}, "not_found")
    await second.close()

    internal = send(conversation_id, str(uuid.uuid4()), "note", visibility="internal")
    await visitor.error("send_message", internal, "forbidden")
    empty = await visitor.error(
        "send_message", send(conversation_id, str(uuid.uuid4()), "   "), "validation_failed"
    )
    assert "details" not in empty
    too_long = await visitor.error(
        "send_message", send(conversation_id, str(uuid.uuid4()), "x" * 5001), "too_large"
    )
    assert too_long["details"] == {"max_length": 5000}

    used = str(uuid.uuid4())
    await visitor.ok("send_message", send(conversation_id, used, "first"))
    other = (await visitor.ok("start_conversation", {"new": True}))["conversation"]["id"]
    assert other != conversation_id
    await visitor.error("send_message", send(other, used, "first"), "conflict")
    # Every failure left the connection usable.
    assert "customer_id" in await visitor.ok("session")
    await visitor.close()


async def test_typing_and_read_receipts_reach_the_other_side(servers: Servers) -> None:
    server = await servers.start()
    visitor = await WireClient.open(server.url, "/customer", {})
    customer_id = (await visitor.ok("session"))["customer_id"]
    conversation_id = (await visitor.ok("start_conversation", {"name": "Casey"}))["conversation"][
        "id"
    ]
    await visitor.ok("send_message", send(conversation_id, str(uuid.uuid4()), "hi"))
    signed_in = await sign_in(server, AgentRole.ADMIN)
    staff = await WireClient.open(server.url, "/agent", {"token": signed_in["token"]})
    joined = await staff.ok("join", {"conversation_id": conversation_id})
    assert set(joined) == {"conversation", "delivered_up_to"} and joined["delivered_up_to"] == 1
    assert [m["seq"] for m in await staff.wait("message")] == [1]

    assert await visitor.ok("typing", {"conversation_id": conversation_id, "typing": True}) is None
    shown = (await staff.wait("typing"))[0]
    assert set(shown) == TYPING
    assert shown == {
        "conversation_id": conversation_id,
        "sender_kind": "customer",
        "sender_id": customer_id,
        "sender_name": "Casey",
        "typing": True,
        "internal": False,
        "expires_in": server.settings.typing_timeout_seconds,
    }
    # A repeated true only keeps it alive; false is broadcast. Never echoed to the typist.
    await visitor.ok("typing", {"conversation_id": conversation_id, "typing": True})
    await visitor.ok("typing", {"conversation_id": conversation_id, "typing": False})
    typing = await staff.wait("typing", 2)
    assert [t["typing"] for t in typing] == [True, False]
    assert visitor.events["typing"] == []

    cursors = await staff.ok("mark_read", {"conversation_id": conversation_id, "seq": 999})
    assert cursors == {"delivered_seq": 1, "read_seq": 1}  # capped at last_seq
    receipt = (await visitor.wait("receipt"))[0]
    assert set(receipt) == RECEIPT
    assert receipt["reader_kind"] == "agent" and receipt["reader_id"] == signed_in["agent"]["id"]
    assert (receipt["delivered_seq"], receipt["read_seq"]) == (1, 1)
    # The reader's own socket gets it too; the same point again moves nothing.
    assert len(await staff.wait("receipt")) == 1
    await staff.ok("mark_read", {"conversation_id": conversation_id, "seq": 1})
    await staff.ok("mark_delivered", {"conversation_id": conversation_id, "seq": 0})
    await visitor.ok("send_message", send(conversation_id, str(uuid.uuid4()), "again"))
    await staff.wait("message", 2)
    assert len(visitor.events["receipt"]) == 1 and len(staff.events["receipt"]) == 1
    await visitor.close()
    await staff.close()


async def test_a_visitor_reconnects_and_resumes_where_it_left(servers: Servers) -> None:
    server = await servers.start()
    visitor = await WireClient.open(server.url, "/customer", {})
    token = (await visitor.ok("session"))["visitor_token"]
    conversation_id = (await visitor.ok("start_conversation"))["conversation"]["id"]
    for n in range(3):
        await visitor.ok("send_message", send(conversation_id, f"c{n}", f"message {n}"))
    await visitor.close()

    back = await WireClient.open(server.url, "/customer", {"token": token})
    assert (await back.ok("session"))["visitor_token"] == token
    resumed = await back.ok("resume", {"conversation_id": conversation_id, "after_seq": 1})
    assert set(resumed) == {"conversation", "delivered_up_to", "queue"}
    assert resumed["delivered_up_to"] == 3
    # The replay arrived before the ack.
    assert [m["seq"] for m in back.events["message"]] == [2, 3]
    check_conversation(resumed["conversation"])

    # REST with the same visitor token.
    status, _, me = await rest("GET", f"{server.url}/api/v1/me", token)
    assert status == 200 and me["data"] == {
        "kind": "customer",
        "customer_id": resumed["conversation"]["customer_id"],
    }
    base = f"{server.url}/api/v1/conversations/{conversation_id}/messages"
    status, _, page = await rest("GET", f"{base}?after_seq=1&limit=1", token)
    assert status == 200 and set(page["data"]) == {"messages", "has_more", "first_seq", "last_seq"}
    assert (page["data"]["first_seq"], page["data"]["last_seq"]) == (2, 2)
    body = {"client_id": "rest-1", "body": "over REST"}
    status, _, posted = await rest("POST", base, token, body)
    assert status == 201 and set(posted["data"]) == SEND_ACK and posted["data"]["seq"] == 4
    status, _, retried = await rest("POST", base, token, body)
    assert status == 200 and retried["data"] == {**posted["data"], "duplicate": True}
    assert [m["seq"] for m in await back.wait("message", 3)] == [2, 3, 4]

    stranger = f"{server.url}/api/v1/conversations/{uuid.uuid4()}"
    status, _, missing = await rest("GET", stranger, token)
    assert status == 404 and missing["error"]["code"] == "not_found"
    status, _, anonymous = await rest("GET", f"{server.url}/api/v1/me")
    assert status == 401 and anonymous["error"]["code"] == "unauthorized"
    status, _, wrong = await rest("DELETE", f"{server.url}/api/v1/me", token)
    assert status == 405 and wrong["error"] == {
        "code": "bad_request",
        "message": "Method Not Allowed",
    }
    status, _, invalid = await rest("POST", base, token, {"client_id": 5})
    assert status == 422 and invalid["error"]["code"] == "validation_failed"
    status, _, unknown = await rest("POST", base, token, {"client_id": "x", "extra": 1})
    assert status == 400 and unknown["error"]["code"] == "unknown_field"
    await back.close()


async def test_an_agent_signs_in_is_assigned_joins_replies_and_resolves(servers: Servers) -> None:
    server = await servers.start()
    signed_in = await sign_in(server)
    agent_id = signed_in["agent"]["id"]
    staff = await WireClient.open(server.url, "/agent", {"token": signed_in["token"]})
    me = await staff.ok("whoami")
    assert set(me) == {
        "agent_id", "display_name", "role", "team_ids", "presence", "load", "capacity",
    }  # fmt: skip
    assert me["agent_id"] == agent_id and me["role"] == "agent" and me["load"] == 0
    assert set(me["presence"]) == {"status", "since"} and me["presence"]["status"] == "online"

    visitor = await WireClient.open(server.url, "/customer", {})
    started = await visitor.ok("start_conversation", {"name": "Casey"})
    conversation_id = started["conversation"]["id"]
    assigned = (await staff.wait("assigned"))[0]
    assert set(assigned) == {"conversation", "reason", "agent", "customer"}
    assert assigned["reason"] == "assigned"
    assert assigned["agent"] == {"id": agent_id, "display_name": "Robin"}
    check_conversation(assigned["conversation"])
    assert assigned["conversation"]["assigned_agent_id"] == agent_id

    joined = await staff.ok("join", {"conversation_id": conversation_id, "after_seq": 0})
    assert set(joined) == {"conversation", "delivered_up_to"}
    reply = await staff.ok("send_message", send(conversation_id, "a1", "How can I help?"))
    message = (await visitor.wait("message"))[0]
    check_message(message)
    assert message["seq"] == reply["seq"] and message["sender_kind"] == "agent"
    assert message["sender_id"] == agent_id and message["sender_name"] == "Robin"
    note = await staff.ok(
        "send_message", send(conversation_id, "a2", "private", visibility="internal")
    )
    assert [m["seq"] for m in await staff.wait("message", 2)] == [reply["seq"], note["seq"]]

    before = len(visitor.events["conversation_updated"])
    resolved = await staff.ok("resolve", {"conversation_id": conversation_id})
    assert set(resolved) == {"conversation"} and resolved["conversation"]["status"] == "resolved"
    updates = await visitor.wait("conversation_updated", before + 1)
    assert updates[-1]["reason"] == "resolved"
    assert updates[-1]["conversation"]["status"] == "resolved"
    # Resolving again changes nothing and sends nothing.
    assert (await staff.ok("resolve", {"conversation_id": conversation_id}))["conversation"][
        "status"
    ] == "resolved"
    # The next update the visitor gets is the reopening's.
    reopened = await staff.ok("reopen", {"conversation_id": conversation_id})
    assert reopened["conversation"]["status"] == "open"
    updates = await visitor.wait("conversation_updated", before + 2)
    assert [u["reason"] for u in updates[before:]][:2] == ["resolved", "reopened"]
    # The customer never saw the note: its own stream skips that seq.
    assert [m["seq"] for m in visitor.events["message"]] == [reply["seq"]]
    await visitor.close()
    await staff.close()


async def test_rate_limits_answer_with_retry_after_and_limit(servers: Servers) -> None:
    server = await servers.start(
        rate_messages_per_socket="2/60",
        rate_rest_per_token="2/60",
        rate_visitors_per_address="1/600",
    )
    visitor = await WireClient.open(server.url, "/customer", {})
    token = (await visitor.ok("session"))["visitor_token"]
    conversation_id = (await visitor.ok("start_conversation"))["conversation"]["id"]
    for n in range(2):
        await visitor.ok("send_message", send(conversation_id, f"m{n}", "hi"))
    refused = await visitor.error("send_message", send(conversation_id, "m2", "hi"), "rate_limited")
    assert set(refused["details"]) == {"retry_after", "limit"}
    assert refused["details"]["limit"] == "messages_per_socket"
    assert type(refused["details"]["retry_after"]) is int and refused["details"]["retry_after"] >= 1
    assert "customer_id" in await visitor.ok("session")  # still usable

    try:
        await WireClient.open(server.url, "/customer", {})
        raise AssertionError("a second new visitor from this address was let in")
    except Refused as refusal:
        payload = refusal.payload
    assert set(payload) == {"message", "data"} and payload["data"]["code"] == "rate_limited"
    assert payload["data"]["details"]["limit"] == "visitors_per_address"
    assert type(payload["data"]["details"]["retry_after"]) is int

    me = f"{server.url}/api/v1/me"
    for _ in range(2):
        assert (await rest("GET", me, token))[0] == 200
    status, headers, body = await rest("GET", me, token)
    assert status == 429 and body["error"]["code"] == "rate_limited"
    assert body["error"]["details"]["limit"] == "rest_per_token"
    assert headers["Retry-After"] == str(body["error"]["details"]["retry_after"])
    await visitor.close()


async def test_connect_refusals_carry_the_documented_codes(servers: Servers) -> None:
    server = await servers.start()
    for namespace, auth, code in (
        ("/agent", {}, "unauthorized"),
        ("/customer", {"token": "p1.garbage"}, "unauthorized"),
        ("/customer", {"token": None, "extra": 1}, "unknown_field"),
        ("/customer", {"token": 5}, "bad_request"),
    ):
        try:
            await WireClient.open(server.url, namespace, auth)
            raise AssertionError(f"{namespace} {auth} was let in")
        except Refused as refusal:
            assert set(refusal.payload) == {"message", "data"}, refusal.payload
            assert refusal.payload["data"]["code"] == code, refusal.payload
            assert refusal.payload["data"]["message"] == refusal.payload["message"]
