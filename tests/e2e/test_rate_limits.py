"""Rate limits: each one refuses past its allowance with retry_after, and the connection stays usable."""

from __future__ import annotations

import aiohttp
import pytest
import socketio

from server.auth.identity import identity_hash
from server.config import Settings
from tests.support import Client, EventLog, RunningServer, agent_token, customer, start_server

SECRET = "identity-secret-0123456789"


def _limited(ack: dict, limit: str) -> int:
    assert ack["ok"] is False, ack
    assert ack["error"]["code"] == "rate_limited"
    assert ack["error"]["details"]["limit"] == limit
    retry_after = ack["error"]["details"]["retry_after"]
    assert isinstance(retry_after, int) and retry_after >= 1
    return retry_after


async def _customer_from(server: RunningServer, address: str, token: str | None = None) -> Client:
    """A visitor behind the one trusted proxy, seen as coming from `address`."""
    sio = socketio.AsyncClient(reconnection=False)
    client = Client(sio, "/customer", EventLog())
    await sio.connect(
        server.url,
        namespaces=["/customer"],
        auth={"token": token} if token else {},
        headers={"X-Forwarded-For": address},
        transports=["websocket"],
        wait_timeout=5,
    )
    return client


async def _refused_from(server: RunningServer, address: str) -> dict:
    sio = socketio.AsyncClient(reconnection=False)
    reasons: list[dict] = []
    sio.on("connect_error", reasons.append, namespace="/customer")
    with pytest.raises(socketio.exceptions.ConnectionError):
        await sio.connect(
            server.url,
            namespaces=["/customer"],
            headers={"X-Forwarded-For": address},
            transports=["websocket"],
            wait_timeout=5,
        )
    assert len(reasons) == 1, reasons
    return reasons[0]["data"]


async def _limited_server(settings: Settings, **rates: str) -> RunningServer:
    return await start_server(
        settings.with_overrides(proxy_hops=1, identity_secret=SECRET, **rates)
    )


async def test_messages_per_socket(settings: Settings) -> None:
    server = await _limited_server(settings, rate_messages_per_socket="3/60")
    try:
        visitor = await customer(server.url)
        started = await visitor.ok("start_conversation", {})
        conversation_id = started["conversation"]["id"]
        for n in range(3):
            await visitor.ok(
                "send_message",
                {"conversation_id": conversation_id, "body": f"m{n}", "client_id": f"c{n}"},
            )
        refused = await visitor.call(
            "send_message", {"conversation_id": conversation_id, "body": "m3", "client_id": "c3"}
        )
        assert 1 <= _limited(refused, "messages_per_socket") <= 20
        # The connection stays usable: other events are answered, and nothing was stored.
        history = await visitor.ok("history", {"conversation_id": conversation_id})
        assert [m["body"] for m in history["messages"] if m["sender_kind"] == "customer"] == [
            "m0",
            "m1",
            "m2",
        ]
        # A second socket of the same visitor has its own allowance.
        other = await customer(server.url, (await visitor.ok("session"))["visitor_token"])
        await other.ok("resume", {"conversation_id": conversation_id, "after_seq": 0})
        await other.ok(
            "send_message", {"conversation_id": conversation_id, "body": "m3", "client_id": "c3"}
        )
        await visitor.close()
        await other.close()
    finally:
        await server.stop()


async def test_messages_per_conversation_count_every_socket_and_rest(settings: Settings) -> None:
    server = await _limited_server(settings, rate_messages_per_conversation="4/60")
    try:
        visitor = await customer(server.url)
        conversation_id = (await visitor.ok("start_conversation", {}))["conversation"]["id"]
        token = (await visitor.ok("session"))["visitor_token"]
        second = await customer(server.url, token)
        await second.ok("resume", {"conversation_id": conversation_id, "after_seq": 0})
        for n, client in enumerate((visitor, second, visitor)):
            await client.ok(
                "send_message",
                {"conversation_id": conversation_id, "body": f"m{n}", "client_id": f"c{n}"},
            )
        url = f"{server.url}/api/v1/conversations/{conversation_id}/messages"
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as http:
            async with http.post(url, json={"body": "rest", "client_id": "r1"}) as response:
                assert response.status == 201, await response.json()
            async with http.post(url, json={"body": "rest", "client_id": "r2"}) as response:
                assert response.status == 429
                assert int(response.headers["Retry-After"]) >= 1
                body = await response.json()
                assert body["error"]["code"] == "rate_limited"
                assert body["error"]["details"]["limit"] == "messages_per_conversation"
        _limited(
            await second.call(
                "send_message", {"conversation_id": conversation_id, "body": "x", "client_id": "c9"}
            ),
            "messages_per_conversation",
        )
        # Another conversation is not affected.
        other = await customer(server.url)
        other_id = (await other.ok("start_conversation", {}))["conversation"]["id"]
        await other.ok(
            "send_message", {"conversation_id": other_id, "body": "hi", "client_id": "o1"}
        )
        for client in (visitor, second, other):
            await client.close()
    finally:
        await server.stop()


async def test_a_conversation_not_visible_cannot_spend_its_allowance(settings: Settings) -> None:
    server = await _limited_server(settings, rate_messages_per_conversation="2/60")
    try:
        owner = await customer(server.url)
        conversation_id = (await owner.ok("start_conversation", {}))["conversation"]["id"]
        stranger = await customer(server.url)
        for n in range(5):
            refused = await stranger.call(
                "send_message",
                {"conversation_id": conversation_id, "body": "x", "client_id": f"s{n}"},
            )
            assert refused["error"]["code"] == "not_found"
        for n in range(2):
            await owner.ok(
                "send_message",
                {"conversation_id": conversation_id, "body": "mine", "client_id": f"o{n}"},
            )
        await owner.close()
        await stranger.close()
    finally:
        await server.stop()


async def test_new_visitors_per_address_over_rest_and_sockets(settings: Settings) -> None:
    server = await _limited_server(settings, rate_visitors_per_address="3/600")
    try:
        url = f"{server.url}/api/v1/visitors"
        async with aiohttp.ClientSession() as http:
            for _ in range(2):
                async with http.post(url, headers={"X-Forwarded-For": "198.51.100.1"}) as response:
                    assert response.status == 201
            visitor = await _customer_from(server, "198.51.100.1")  # the third new visitor
            async with http.post(url, headers={"X-Forwarded-For": "198.51.100.1"}) as response:
                assert response.status == 429
                assert int(response.headers["Retry-After"]) >= 1
                body = await response.json()
                assert body["error"]["details"]["limit"] == "visitors_per_address"
            reason = await _refused_from(server, "198.51.100.1")
            assert reason["code"] == "rate_limited"
            assert reason["details"]["limit"] == "visitors_per_address"
            assert reason["details"]["retry_after"] >= 1
            # A returning visitor (with a token) and another address still get in.
            token = (await visitor.ok("session"))["visitor_token"]
            returning = await _customer_from(server, "198.51.100.1", token)
            async with http.post(url, headers={"X-Forwarded-For": "198.51.100.2"}) as response:
                assert response.status == 201
        await visitor.close()
        await returning.close()
    finally:
        await server.stop()


async def test_a_flood_of_conversations_from_one_address_never_moves_others_in_line(
    settings: Settings,
) -> None:
    server = await _limited_server(settings, rate_conversations_per_address="3/600")
    try:
        real = await _customer_from(server, "203.0.113.9")
        first = await real.ok("start_conversation", {})
        assert first["queue"]["position"] == 1
        flood = []
        for n in range(6):
            client = await _customer_from(server, "198.51.100.66")
            ack = await client.call("start_conversation", {})
            if n < 3:
                assert ack["ok"] is True, ack
                assert ack["data"]["queue"]["position"] == n + 2
            else:
                _limited(ack, "conversations_per_address")
            flood.append(client)
        # Only the three allowed ones joined the line, behind the real customer.
        late = await _customer_from(server, "203.0.113.10")
        assert (await late.ok("start_conversation", {}))["queue"]["position"] == 5
        assert (
            await real.ok(
                "resume", {"conversation_id": first["conversation"]["id"], "after_seq": 0}
            )
        )["queue"]["position"] == 1
        # A verified customer at the flooding address is not refused.
        verified = await _customer_from(server, "198.51.100.66")
        await verified.ok("identify", {"user_id": "u-7", "hash": identity_hash(SECRET, "u-7")})
        assert (await verified.ok("start_conversation", {}))["created"] is True
        for client in (real, late, verified, *flood):
            await client.close()
    finally:
        await server.stop()


async def test_conversations_per_visitor(settings: Settings) -> None:
    server = await _limited_server(settings, rate_conversations_per_visitor="2/600")
    try:
        visitor = await customer(server.url)
        for _ in range(2):
            assert (await visitor.ok("start_conversation", {"new": True}))["created"] is True
        _limited(
            await visitor.call("start_conversation", {"new": True}), "conversations_per_visitor"
        )
        # Returning to the open conversation is not a new one.
        assert (await visitor.ok("start_conversation", {}))["created"] is False
        await visitor.close()
    finally:
        await server.stop()


async def test_rest_per_token_and_per_address(settings: Settings) -> None:
    server = await _limited_server(
        settings, rate_rest_per_token="3/60", rate_rest_per_address="6/60"
    )
    try:
        _, token = await agent_token(server)
        me = f"{server.url}/api/v1/me"
        async with aiohttp.ClientSession() as http:
            headers = {"Authorization": f"Bearer {token}", "X-Forwarded-For": "192.0.2.1"}
            for _ in range(3):
                async with http.get(me, headers=headers) as response:
                    assert response.status == 200
            async with http.get(me, headers=headers) as response:
                assert response.status == 429
                assert int(response.headers["Retry-After"]) >= 1
                assert (await response.json())["error"]["details"]["limit"] == "rest_per_token"
            # The address still has allowance for requests without that token.
            async with http.get(
                f"{server.url}/api/v1/widget/settings", headers={"X-Forwarded-For": "192.0.2.1"}
            ) as response:
                assert response.status == 200
            for _ in range(2):
                async with http.get(
                    f"{server.url}/api/v1/widget/settings", headers={"X-Forwarded-For": "192.0.2.1"}
                ) as response:
                    assert response.status == 200
            async with http.get(
                f"{server.url}/api/v1/widget/settings", headers={"X-Forwarded-For": "192.0.2.1"}
            ) as response:
                assert response.status == 429
                assert (await response.json())["error"]["details"]["limit"] == "rest_per_address"
            async with http.get(
                f"{server.url}/api/v1/widget/settings", headers={"X-Forwarded-For": "192.0.2.2"}
            ) as response:
                assert response.status == 200
    finally:
        await server.stop()


async def test_limits_are_read_from_settings() -> None:
    from server.config import ConfigError, load_settings

    assert (
        load_settings({"PARLEY_RATE_MESSAGES_PER_SOCKET": "10/5"}).rate_messages_per_socket
        == "10/5"
    )
    for bad in ("ten", "0/5", "5/0", "5"):
        try:
            load_settings({"PARLEY_RATE_REST_PER_TOKEN": bad})
            raise AssertionError(f"{bad!r} was accepted")
        except ConfigError as exc:
            assert "PARLEY_RATE_REST_PER_TOKEN" in str(exc)
