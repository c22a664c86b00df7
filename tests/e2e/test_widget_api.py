"""What the widget relies on over HTTP and sockets: settings, CORS, allowed origins, identity."""

from __future__ import annotations

import aiohttp
import pytest
import socketio

from server.auth.identity import identity_hash
from server.config import Settings
from tests.support import agent, agent_token, customer, start_server

SHOP = "https://shop.example"
IDENTITY_SECRET = "identity-secret-for-tests-0123"


async def _get_settings(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict, dict]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{url}/api/v1/widget/settings", headers=headers or {}) as response,
    ):
        return response.status, dict(response.headers), await response.json()


async def test_widget_settings_are_public_and_report_defaults_and_availability(
    settings: Settings,
) -> None:
    server = await start_server(settings)
    try:
        status, headers, body = await _get_settings(server.url)
        assert status == 200 and body["ok"] is True
        data = body["data"]
        assert data["color"] == "#1f5fbf" and data["position"] == "right"
        assert data["pre_chat"] == {"name": "optional", "email": "optional"}
        assert (
            data["business_hours"]["open_now"] is True
            and data["business_hours"]["always_open"] is True
        )
        assert data["team_name"] == "Support"
        assert data["agents_available"] is False
        assert data["assistant_available"] is False  # the tests' servers run without it
        assert data["websocket_only"] is False and data["identity_verification"] is False
        assert "image/png" in data["attachments"]["types"]
        assert "max-age" in headers["Cache-Control"]

        _, token = await agent_token(server, name="Robin")
        staff = await agent(server.url, token)
        assert (await _get_settings(server.url))[2]["data"]["agents_available"] is True
        await staff.ok("set_presence", {"status": "away"})
        assert (await _get_settings(server.url))[2]["data"]["agents_available"] is False
        await staff.close()
    finally:
        await server.stop()


async def test_widget_settings_say_whether_the_assistant_answers_while_nobody_is_online(
    settings: Settings,
) -> None:
    from tests.e2e.routing_support import set_team_mode

    server = await start_server(settings.with_overrides(assistant_mode="when_no_agent"))
    try:
        data = (await _get_settings(server.url))[2]["data"]
        assert (data["agents_available"], data["assistant_available"]) == (False, True)
        await set_team_mode(
            server, "support", assistant_mode="off"
        )  # the default team's choice wins
        assert (await _get_settings(server.url))[2]["data"]["assistant_available"] is False
    finally:
        await server.stop()
    server = await start_server(
        settings.with_overrides(assistant_mode="first", assistant_max_turns=0)
    )
    try:
        assert (await _get_settings(server.url))[2]["data"]["assistant_available"] is False
    finally:
        await server.stop()


async def test_widget_settings_follow_the_configuration(settings: Settings) -> None:
    server = await start_server(
        settings.with_overrides(
            widget_color="#aa3300",
            widget_position="left",
            widget_greeting="Moin!",
            widget_team_name="Acme Help",
            widget_prechat_email="required",
            widget_prechat_name="hidden",
            # An opening that never is: an empty window on one day.
            widget_business_hours="sun 00:00-00:01",
            widget_timezone="Pacific/Kiritimati",
            widget_hours_text="Sundays, one minute",
            widget_language="de",
            identity_secret=IDENTITY_SECRET,
        )
    )
    try:
        data = (await _get_settings(server.url))[2]["data"]
        assert (data["color"], data["position"], data["greeting"], data["team_name"]) == (
            "#aa3300",
            "left",
            "Moin!",
            "Acme Help",
        )
        assert data["pre_chat"] == {"name": "hidden", "email": "required"}
        assert data["business_hours"]["always_open"] is False
        assert data["business_hours"]["text"] == "Sundays, one minute"
        assert data["language"] == "de" and data["identity_verification"] is True
    finally:
        await server.stop()


async def test_cors_lets_only_allowed_sites_call_the_widget_routes(settings: Settings) -> None:
    server = await start_server(settings.with_overrides(allowed_origins=(SHOP,)))
    try:
        _, headers, _ = await _get_settings(server.url, {"Origin": SHOP})
        assert headers["Access-Control-Allow-Origin"] == SHOP
        _, headers, _ = await _get_settings(server.url, {"Origin": "https://evil.example"})
        assert "Access-Control-Allow-Origin" not in headers
        async with aiohttp.ClientSession() as http:
            preflight = {
                "Origin": SHOP,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization",
            }
            async with http.options(f"{server.url}/api/v1/attachments", headers=preflight) as r:
                assert r.status == 204
                assert r.headers["Access-Control-Allow-Origin"] == SHOP
                assert "Authorization" in r.headers["Access-Control-Allow-Headers"]
            async with http.options(
                f"{server.url}/api/v1/attachments",
                headers={**preflight, "Origin": "https://evil.example"},
            ) as r:
                assert r.status == 403 and "Access-Control-Allow-Origin" not in r.headers
            # An error answer is readable by the allowed site too (the widget shows it).
            async with http.post(f"{server.url}/api/v1/attachments", headers={"Origin": SHOP}) as r:
                assert r.status == 401 and r.headers["Access-Control-Allow-Origin"] == SHOP
            # Routes the widget never calls get no CORS answer.
            async with http.get(f"{server.url}/api/v1/me", headers={"Origin": SHOP}) as r:
                assert "Access-Control-Allow-Origin" not in r.headers
    finally:
        await server.stop()


async def test_a_disallowed_origin_cannot_open_a_socket(settings: Settings) -> None:
    server = await start_server(settings.with_overrides(allowed_origins=(SHOP,)))
    try:
        for transports in (["websocket"], ["polling"]):
            refused = socketio.AsyncClient(reconnection=False)
            with pytest.raises(socketio.exceptions.ConnectionError):
                await refused.connect(
                    server.url,
                    namespaces=["/customer"],
                    transports=transports,
                    headers={"Origin": "https://evil.example"},
                    wait_timeout=5,
                )
        allowed = socketio.AsyncClient(reconnection=False)
        await allowed.connect(
            server.url,
            namespaces=["/customer"],
            transports=["websocket"],
            headers={"Origin": SHOP},
            wait_timeout=5,
        )
        assert allowed.connected
        await allowed.disconnect()
    finally:
        await server.stop()


async def test_identify_binds_a_verified_user_and_follows_them_to_another_device(
    settings: Settings,
) -> None:
    server = await start_server(settings.with_overrides(identity_secret=IDENTITY_SECRET))
    try:
        laptop = await customer(server.url)
        laptop_id = (await laptop.ok("session"))["customer_id"]
        good = identity_hash(IDENTITY_SECRET, "user-42")
        refused = await laptop.call(
            "identify",
            {"user_id": "user-42", "hash": identity_hash("wrong-secret-xxxxxxxx", "user-42")},
        )
        assert refused["ok"] is False and refused["error"]["code"] == "forbidden"
        bound = await laptop.ok(
            "identify",
            {"user_id": "user-42", "hash": good, "name": "Casey", "email": "casey@shop.example"},
        )
        assert bound == {
            "customer_id": laptop_id,
            "visitor_token": bound["visitor_token"],
            "identity_verified": True,
            "switched": False,
        }
        conversation_id = (await laptop.ok("start_conversation", {}))["conversation"]["id"]
        await laptop.ok(
            "send_message",
            {"conversation_id": conversation_id, "client_id": "l1", "body": "from the laptop"},
        )

        # The same user on a phone (a new anonymous visitor) becomes the same customer.
        phone = await customer(server.url)
        phone_anonymous = (await phone.ok("session"))["customer_id"]
        switched = await phone.ok("identify", {"user_id": "user-42", "hash": good})
        assert switched["switched"] is True and switched["customer_id"] == laptop_id
        assert switched["customer_id"] != phone_anonymous
        assert (await phone.ok("session"))["visitor_token"] == switched["visitor_token"]
        started = await phone.ok("start_conversation", {"after_seq": 0})
        assert started["conversation"]["id"] == conversation_id and started["created"] is False
        got = await phone.log.wait_for("message")
        assert [m["body"] for m in got] == ["from the laptop"]
        # The new token is that customer's: a reconnect with it is the same customer.
        again = await customer(server.url, switched["visitor_token"])
        assert (await again.ok("session"))["customer_id"] == laptop_id

        # Rows: verified, with the site's user id.
        import asyncpg

        conn = await asyncpg.connect(server.settings.database_url)
        row = await conn.fetchrow(
            "SELECT external_id, identity_verified, name, email FROM customers WHERE id = $1",
            __import__("uuid").UUID(laptop_id),
        )
        await conn.close()
        assert dict(row) == {
            "external_id": "user-42",
            "identity_verified": True,
            "name": "Casey",
            "email": "casey@shop.example",
        }

        # A browser bound to user-42 that proves another user becomes a new customer; user-42's
        # conversations stay with user-42.
        other = await laptop.ok(
            "identify", {"user_id": "user-7", "hash": identity_hash(IDENTITY_SECRET, "user-7")}
        )
        assert other["switched"] is True and other["customer_id"] not in (
            laptop_id,
            phone_anonymous,
        )
        assert (await laptop.ok("list_conversations", {}))["conversations"] == []
        for client in (laptop, phone, again):
            await client.close()
    finally:
        await server.stop()


async def test_identify_is_refused_without_a_secret_and_validates_its_payload(
    settings: Settings,
) -> None:
    server = await start_server(settings)
    try:
        cust = await customer(server.url)
        ack = await cust.call("identify", {"user_id": "u", "hash": identity_hash("", "u")})
        assert ack["ok"] is False and ack["error"]["code"] == "forbidden"
        assert "not enabled" in ack["error"]["message"]
        for payload, code in (
            ({"user_id": "u", "hash": "abc"}, "bad_request"),
            ({"user_id": "", "hash": "0" * 64}, "bad_request"),
            ({"user_id": "u", "hash": "0" * 64, "admin": True}, "unknown_field"),
        ):
            ack = await cust.call("identify", payload)
            assert ack["ok"] is False and ack["error"]["code"] == code, payload
        await cust.close()
    finally:
        await server.stop()


async def test_widget_settings_are_revalidated_with_an_etag(settings: Settings) -> None:
    server = await start_server(settings)
    try:
        status, headers, _ = await _get_settings(server.url)
        etag = headers["Etag"]  # as aiohttp spells it
        assert status == 200 and etag.startswith('"')
        async with (
            aiohttp.ClientSession() as http,
            http.get(
                f"{server.url}/api/v1/widget/settings", headers={"If-None-Match": etag}
            ) as response,
        ):
            assert response.status == 304 and await response.read() == b""
            assert response.headers["ETag"] == etag
        # An agent coming online changes the answer, and so its tag.
        _, token = await agent_token(server, name="Robin")
        robin = await agent(server.url, token)
        try:
            changed, headers, body = await _get_settings(server.url, {"If-None-Match": etag})
            assert changed == 200 and body["data"]["agents_available"] is True
            assert headers["Etag"] != etag
        finally:
            await robin.close()
    finally:
        await server.stop()
