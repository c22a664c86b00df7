"""REST: login and its throttling, conversation lists, history paging, attachments, errors."""

from __future__ import annotations

import uuid

import aiohttp

from server.core.models import AgentRole
from tests.support import PASSWORD, RunningServer, agent_token, create_agent, customer, start_server


async def _post_json(http: aiohttp.ClientSession, url: str, body: object) -> tuple[int, dict]:
    async with http.post(url, json=body) as response:
        return response.status, await response.json()


async def test_login_and_throttling_per_account(server: RunningServer) -> None:
    email = "robin@example.test"
    await create_agent(server.settings.database_url, email=email, name="Robin")
    url = f"{server.url}/api/v1/auth/login"
    async with aiohttp.ClientSession() as http:
        status, body = await _post_json(
            http, url, {"email": "ROBIN@example.test", "password": PASSWORD}
        )
        assert status == 200 and body["data"]["agent"]["email"] == email
        assert "password_hash" not in body["data"]["agent"]
        for _ in range(5):
            status, body = await _post_json(http, url, {"email": email, "password": "wrong"})
            assert status == 401 and body["error"]["code"] == "unauthorized"
        # Locked now: even the right password waits, and the client is told how long.
        async with http.post(url, json={"email": email, "password": PASSWORD}) as response:
            assert response.status == 429
            assert int(response.headers["Retry-After"]) > 0
            assert (await response.json())["error"]["code"] == "rate_limited"
        # Unknown accounts answer exactly like wrong passwords.
        status, body = await _post_json(
            http, url, {"email": "nobody@example.test", "password": "x"}
        )
        assert status == 401 and body["error"]["message"] == "invalid email or password"


async def test_login_throttling_per_address(server: RunningServer) -> None:
    url = f"{server.url}/api/v1/auth/login"
    async with aiohttp.ClientSession() as http:
        for i in range(server.settings.login_max_failures_per_ip):
            status, _ = await _post_json(
                http, url, {"email": f"u{i}@example.test", "password": "x"}
            )
            assert status == 401
        status, _body = await _post_json(
            http, url, {"email": "fresh@example.test", "password": "x"}
        )
        assert status == 429


async def test_behind_a_trusted_proxy_each_client_address_is_throttled_apart(settings) -> None:
    server = await start_server(settings.with_overrides(proxy_hops=1, login_max_failures_per_ip=3))
    url = f"{server.url}/api/v1/auth/login"

    async def attempt(http: aiohttp.ClientSession, forwarded: str) -> int:
        body = {"email": f"{uuid.uuid4().hex[:8]}@example.test", "password": "x"}
        async with http.post(url, json=body, headers={"X-Forwarded-For": forwarded}) as response:
            return response.status

    try:
        async with aiohttp.ClientSession() as http:
            # The proxy appends the address it saw; what the client wrote before it is ignored.
            for forged in ("1.1.1.1", "2.2.2.2", "3.3.3.3"):
                assert await attempt(http, f"{forged}, 203.0.113.5") == 401
            assert await attempt(http, "4.4.4.4, 203.0.113.5") == 429
            # Another customer behind the same proxy is not locked out by the first.
            assert await attempt(http, "198.51.100.7") == 401
    finally:
        await server.stop()


async def test_bad_rest_input_is_a_4xx_json_error(server: RunningServer) -> None:
    async with aiohttp.ClientSession() as http:
        url = f"{server.url}/api/v1/auth/login"
        async with http.post(
            url, data=b"{not json", headers={"Content-Type": "application/json"}
        ) as r:
            assert r.status == 400 and (await r.json())["error"]["code"] == "bad_request"
        status, body = await _post_json(http, url, {"email": "a@b.c", "password": "x", "extra": 1})
        assert status == 400 and body["error"]["code"] == "unknown_field"
        status, body = await _post_json(http, url, {"email": 5, "password": "x"})
        assert status == 422
        async with http.delete(f"{server.url}/api/v1/auth/login") as r:
            assert r.status == 405 and (await r.json())["ok"] is False
        async with http.get(f"{server.url}/api/v1/nope") as r:
            assert r.status == 404 and (await r.json())["ok"] is False
        _, token = await agent_token(server)
        headers = {"Authorization": f"Bearer {token}"}
        async with http.get(f"{server.url}/api/v1/conversations/not-a-uuid", headers=headers) as r:
            assert r.status == 404
        async with http.get(f"{server.url}/api/v1/conversations?limit=0", headers=headers) as r:
            assert r.status == 422
        async with http.get(f"{server.url}/api/v1/conversations?cursor=%%%", headers=headers) as r:
            assert r.status == 400


async def test_conversation_list_filters_and_cursor_pagination(server: RunningServer) -> None:
    ids = []
    for _ in range(5):
        cust = await customer(server.url)
        ids.append((await cust.ok("start_conversation", {}))["conversation"]["id"])
        await cust.close()
    _, token = await agent_token(server, role=AgentRole.ADMIN)
    headers = {"Authorization": f"Bearer {token}"}
    seen: list[str] = []
    async with aiohttp.ClientSession(headers=headers) as http:
        cursor = None
        while True:
            query = "status=open&limit=2" + (f"&cursor={cursor}" if cursor else "")
            async with http.get(f"{server.url}/api/v1/conversations?{query}") as r:
                page = (await r.json())["data"]
            seen += [c["id"] for c in page["conversations"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert sorted(seen) == sorted(ids) and len(seen) == 5
        assert seen == list(reversed(ids))  # newest first
        async with http.get(f"{server.url}/api/v1/conversations?status=resolved") as r:
            assert (await r.json())["data"]["conversations"] == []
        async with http.get(f"{server.url}/api/v1/conversations?assignee=me") as r:
            assert (await r.json())["data"]["conversations"] == []


async def test_history_pages_both_directions(server: RunningServer) -> None:
    cust = await customer(server.url)
    token = (await cust.ok("session"))["visitor_token"]
    conversation_id = (await cust.ok("start_conversation", {}))["conversation"]["id"]
    for i in range(12):
        await cust.ok(
            "send_message",
            {"conversation_id": conversation_id, "client_id": f"c{i}", "body": f"m{i}"},
        )
    url = f"{server.url}/api/v1/conversations/{conversation_id}/messages"
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as http:
        async with http.get(f"{url}?limit=5") as r:
            newest = (await r.json())["data"]
        assert [m["seq"] for m in newest["messages"]] == [8, 9, 10, 11, 12]
        async with http.get(f"{url}?limit=5&before_seq=8") as r:
            older = (await r.json())["data"]
        assert [m["seq"] for m in older["messages"]] == [3, 4, 5, 6, 7]
        async with http.get(f"{url}?limit=5&after_seq=2") as r:
            forward = (await r.json())["data"]
        assert [m["seq"] for m in forward["messages"]] == [3, 4, 5, 6, 7]
        async with http.post(url, json={"client_id": "rest-1", "body": "via REST"}) as r:
            assert r.status == 201
            assert (await r.json())["data"]["seq"] == 13
        async with http.post(url, json={"client_id": "rest-1", "body": "via REST"}) as r:
            assert r.status == 200 and (await r.json())["data"]["duplicate"] is True
    await cust.close()


PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


async def test_attachments_upload_send_and_download_with_authorization(
    server: RunningServer,
) -> None:
    cust = await customer(server.url)
    token = (await cust.ok("session"))["visitor_token"]
    conversation_id = (await cust.ok("start_conversation", {}))["conversation"]["id"]
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(headers=headers) as http:
        form = aiohttp.FormData()
        form.add_field("conversation_id", conversation_id)
        form.add_field("file", PNG, filename="../../etc/pixel.png", content_type="image/png")
        async with http.post(f"{server.url}/api/v1/attachments", data=form) as r:
            assert r.status == 201, await r.text()
            attachment = (await r.json())["data"]
        assert attachment["filename"] == "pixel.png"

        bad = aiohttp.FormData()
        bad.add_field("conversation_id", conversation_id)
        bad.add_field("file", b"<script>", filename="x.html", content_type="text/html")
        async with http.post(f"{server.url}/api/v1/attachments", data=bad) as r:
            assert r.status == 415 and (await r.json())["error"]["code"] == "unsupported_media_type"
        big = aiohttp.FormData()
        big.add_field("conversation_id", conversation_id)
        big.add_field(
            "file",
            b"x" * (server.settings.attachment_max_bytes + 1),
            filename="big.txt",
            content_type="text/plain",
        )
        async with http.post(f"{server.url}/api/v1/attachments", data=big) as r:
            assert r.status == 413

    ack = await cust.ok(
        "send_message",
        {
            "conversation_id": conversation_id,
            "client_id": "pic",
            "body": "",
            "attachment_ids": [attachment["id"]],
        },
    )
    message = (await cust.log.wait_for("message"))[0]
    assert message["seq"] == ack["seq"]
    assert message["attachments"][0]["id"] == attachment["id"]
    link = message["attachments"][0]["url"]
    # Sending the same attachment again in another message is refused.
    again = await cust.call(
        "send_message",
        {
            "conversation_id": conversation_id,
            "client_id": "pic2",
            "body": "again",
            "attachment_ids": [attachment["id"]],
        },
    )
    assert again["ok"] is False and again["error"]["code"] == "validation_failed"

    async with aiohttp.ClientSession() as http:
        async with http.get(f"{server.url}{link}") as r:
            assert r.status == 200 and await r.read() == PNG
            assert r.headers["X-Content-Type-Options"] == "nosniff"
        async with http.get(f"{server.url}/api/v1/attachments/{attachment['id']}/content") as r:
            assert r.status == 401
        async with http.get(
            f"{server.url}/api/v1/attachments/{attachment['id']}/content?token=forged"
        ) as r:
            assert r.status == 401
        stranger = (await (await http.post(f"{server.url}/api/v1/visitors")).json())["data"][
            "visitor_token"
        ]
        async with http.get(
            f"{server.url}/api/v1/attachments/{attachment['id']}/content",
            headers={"Authorization": f"Bearer {stranger}"},
        ) as r:
            assert r.status == 404
        async with http.get(
            f"{server.url}/api/v1/attachments/{attachment['id']}/content", headers=headers
        ) as r:
            assert r.status == 200
    await cust.close()


async def test_health_and_readiness(server: RunningServer) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{server.url}/healthz") as r:
            assert r.status == 200
        async with http.get(f"{server.url}/readyz") as r:
            body = await r.json()
            assert r.status == 200
            # No socket yet: the fan-out listener starts with the first connection.
            assert body["checks"] == {"postgres": "ok", "redis": "ok", "fanout": "idle"}
        for path in ("/widget.js", "/console/", "/demo/"):
            async with http.get(f"{server.url}{path}") as r:
                assert r.status == 200, path


async def test_an_attachment_on_a_private_note_is_not_downloadable_by_the_customer(
    server: RunningServer,
) -> None:
    from tests.support import agent

    cust = await customer(server.url)
    visitor = (await cust.ok("session"))["visitor_token"]
    conversation_id = (await cust.ok("start_conversation", {}))["conversation"]["id"]
    _, token = await agent_token(server)
    staff = await agent(server.url, token)
    await staff.ok("join", {"conversation_id": conversation_id})
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as http:
        form = aiohttp.FormData()
        form.add_field("conversation_id", conversation_id)
        form.add_field("file", PNG, filename="internal.png", content_type="image/png")
        async with http.post(f"{server.url}/api/v1/attachments", data=form) as r:
            attachment = (await r.json())["data"]
    await staff.ok(
        "send_message",
        {
            "conversation_id": conversation_id,
            "client_id": "note",
            "body": "see",
            "visibility": "internal",
            "attachment_ids": [attachment["id"]],
        },
    )
    url = f"{server.url}/api/v1/attachments/{attachment['id']}/content"
    async with aiohttp.ClientSession() as http:
        async with http.get(url, headers={"Authorization": f"Bearer {visitor}"}) as r:
            assert r.status == 404
        async with http.get(url, headers={"Authorization": f"Bearer {token}"}) as r:
            assert r.status == 200
    await cust.close()
    await staff.close()
