"""Hostile input gets a documented answer: NUL, lone surrogates, non-JSON numbers, integers past
bigint, extra arguments and blank names are refused by name, never `internal` or a 500."""

from __future__ import annotations

import uuid

import aiohttp
import asyncpg
import pytest

from server.core.models import AgentRole
from tests.e2e.console_support import signed_in
from tests.e2e.raw_socket import RawSocket
from tests.support import RunningServer, customer

A = "/api/v1/admin"
HUGE = 2**63


async def _counts(server: RunningServer) -> tuple[int, int]:
    conn = await asyncpg.connect(server.settings.database_url)
    try:
        row = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM conversations) AS c, (SELECT count(*) FROM messages) AS m"
        )
        return row["c"], row["m"]
    finally:
        await conn.close()


SOCKET_CASES = [
    ("start_conversation", {"name": "Ann\x00"}, "$.name"),
    ("start_conversation", {"email": "a\x00@example.test"}, "$.email"),
    ("start_conversation", {"attributes": {"plan": "pro\x00"}}, "$.attributes.plan"),
    ("start_conversation", {"attributes": {"pl\x00an": "pro"}}, "$.attributes"),
    ("start_conversation", {"page_url": "https://example.test/\x00"}, "$.page_url"),
    ("start_conversation", {"team": "support\x00"}, "$.team"),
    ("identify", {"user_id": "u\x00", "hash": "0" * 64}, "$.user_id"),
    (
        "send_message",
        {"conversation_id": "CONV", "client_id": "c\x00", "body": "hi"},
        "$.client_id",
    ),
    ("history", {"conversation_id": "CONV", "after_seq": HUGE}, "$.after_seq"),
    ("history", {"conversation_id": "CONV", "before_seq": HUGE}, "$.before_seq"),
    ("mark_read", {"conversation_id": "CONV", "seq": HUGE}, "$.seq"),
    ("mark_delivered", {"conversation_id": "CONV", "seq": HUGE}, "$.seq"),
    ("resume", {"conversation_id": "CONV", "after_seq": HUGE}, "$.after_seq"),
]


@pytest.mark.parametrize(("event", "payload", "field"), SOCKET_CASES)
async def test_socket_fields_are_refused_by_name(
    server: RunningServer, event: str, payload: dict, field: str
) -> None:
    cust = await customer(server.url)
    conversation_id = (await cust.ok("start_conversation", {}))["conversation"]["id"]
    payload = {k: (conversation_id if v == "CONV" else v) for k, v in payload.items()}
    ack = await cust.call(event, payload)
    assert ack["ok"] is False and ack["error"]["code"] == "bad_request", ack
    assert f"at `{field}`" in ack["error"]["message"], ack
    assert await _counts(server) == (1, 0)
    sent = await cust.ok(
        "send_message", {"conversation_id": conversation_id, "client_id": "ok", "body": "fine"}
    )
    assert sent["seq"] == 1
    await cust.close()


async def test_deep_nesting_is_refused(server: RunningServer) -> None:
    cust = await customer(server.url)
    nested: dict = {"leaf": 1}
    for _ in range(40):
        nested = {"n": nested}
    ack = await cust.call("start_conversation", {"attributes": nested})
    assert ack["error"]["code"] == "bad_request" and "nested" in ack["error"]["message"], ack
    assert await _counts(server) == (0, 0)
    await cust.close()


async def test_unreadable_json_is_answered_and_the_socket_stays(server: RunningServer) -> None:
    raw = await RawSocket.open(server.url, "/customer")
    # Half an emoji, as JSON.stringify writes it: valid JSON that UTF-8 cannot hold.
    ack = await raw.emit(1, '["start_conversation",{"name":"Ann \\ud83d"}]')
    assert ack["ok"] is False and ack["error"]["code"] == "bad_request", ack
    assert "at `$.name`" in ack["error"]["message"]
    # Not JSON at all: the ack id is still known, so the event is answered.
    ack = await raw.emit(2, '["history",{"conversation_id":"x","limit":Infinity}]')
    assert ack["ok"] is False and ack["error"]["code"] == "bad_request", ack
    ack = await raw.emit(3, '["history",{"limit":NaN')
    assert ack["error"]["code"] == "bad_request", ack
    # A number no type can hold.
    ack = await raw.emit(6, '["start_conversation",{"attributes":{"n":1e999}}]')
    assert ack["error"]["code"] == "bad_request" and "$.attributes.n" in ack["error"]["message"], (
        ack
    )
    # An event with a second argument.
    ack = await raw.emit(4, '["start_conversation",{},{"admin":true}]')
    assert ack["error"]["code"] == "bad_request" and "arguments" in ack["error"]["message"], ack
    assert await _counts(server) == (0, 0)
    started = await raw.emit(5, '["start_conversation",{}]')
    assert started["ok"] is True and started["data"]["created"] is True
    await raw.close()


async def test_an_unreadable_packet_without_an_ack_id_closes_that_client(
    server: RunningServer,
) -> None:
    bystander = await customer(server.url)
    raw = await RawSocket.open(server.url, "/customer")
    await raw.send('2/customer,["history",Infinity]')
    assert await raw.ended() is True
    await raw.close()
    assert (await bystander.ok("start_conversation", {}))["created"] is True
    await bystander.close()


async def test_rest_text_fields_refuse_nul_by_name(server: RunningServer) -> None:
    async with aiohttp.ClientSession(base_url=server.url) as anonymous:
        async with anonymous.post(
            "/api/v1/auth/login", json={"email": "a\x00@b.c", "password": "x"}
        ) as r:
            body = await r.json()
            assert r.status == 422 and "$.email" in body["error"]["message"], body
        # A lone surrogate in a JSON body is named like a NUL; Infinity is not JSON.
        async with anonymous.post(
            "/api/v1/auth/login",
            data=b'{"email": "\\udc00@b.c", "password": "x"}',
            headers={"Content-Type": "application/json"},
        ) as r:
            assert r.status == 422 and "$.email" in (await r.json())["error"]["message"]
        async with anonymous.post(
            "/api/v1/auth/login",
            data=b'{"email": Infinity}',
            headers={"Content-Type": "application/json"},
        ) as r:
            assert r.status == 400 and (await r.json())["error"]["code"] == "bad_request"
    async with signed_in(server, role=AgentRole.ADMIN) as admin:
        for method, path, body, field in [
            (
                "POST",
                "/api/v1/quick-responses",
                {"shortcut": "hi", "title": "T\x00", "body": "b"},
                "$.title",
            ),
            ("POST", f"{A}/teams", {"slug": "sales", "name": "Sales\x00"}, "$.name"),
            (
                "POST",
                f"{A}/agents",
                {"email": "n@example.test", "display_name": "N\x00"},
                "$.display_name",
            ),
            ("PUT", f"{A}/settings/widget", {"greeting": "Hello\x00"}, "$.greeting"),
            (
                "POST",
                f"{A}/teams",
                {"slug": "sales", "name": "Sales", "settings": {"x": "\x00"}},
                "$.settings.x",
            ),
        ]:
            status, answer = await admin.call(method, path, json=body)
            assert status == 422 and field in answer["error"]["message"], (path, answer)
        for path in (
            "/api/v1/quick-responses?q=a%00",
            f"{A}/audit-log?action=a%00",
            "/api/v1/knowledge/articles?q=%00",
        ):
            status, answer = await admin.call("GET", path)
            assert status == 422 and answer["error"]["code"] == "validation_failed", (path, answer)
        status, answer = await admin.call("GET", "/api/v1/knowledge/articles/a%00b")
        assert status == 404 and answer["error"]["code"] == "not_found", answer
        teams = (await admin.ok("GET", f"{A}/teams"))["teams"]
        assert [t["slug"] for t in teams] == ["support"]


async def test_names_are_trimmed_and_blank_ones_refused(server: RunningServer) -> None:
    async with signed_in(server, role=AgentRole.ADMIN) as admin:
        status, answer = await admin.call(
            "POST", f"{A}/teams", json={"slug": "blank", "name": "   "}
        )
        assert status == 422 and "name" in answer["error"]["message"], answer
        status, answer = await admin.call(
            "POST", f"{A}/agents", json={"email": "b@example.test", "display_name": " \t "}
        )
        assert status == 422 and "display_name" in answer["error"]["message"], answer
        team = (
            await admin.ok("POST", f"{A}/teams", 201, json={"slug": "sales", "name": "  Sales "})
        )["team"]
        assert team["name"] == "Sales"
        status, answer = await admin.call("PATCH", f"{A}/teams/{team['id']}", json={"name": " "})
        assert status == 422, answer
        status, answer = await admin.call(
            "PATCH", f"{A}/agents/{admin.agent_id}", json={"display_name": ""}
        )
        assert status == 422, answer
        slugs = sorted(t["slug"] for t in (await admin.ok("GET", f"{A}/teams"))["teams"])
        assert slugs == ["sales", "support"]
    assert uuid.UUID(team["id"])
