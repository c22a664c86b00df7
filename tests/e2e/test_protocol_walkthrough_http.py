"""The independent client's walk through the HTTP surface docs/protocol.md describes beside the
API proper: attachment uploads and downloads, widget settings and CORS, probes, metrics and
security headers."""

from __future__ import annotations

from typing import Any

import aiohttp

from server.core.models import AgentRole
from tests.e2e.wire_client import ATTACHMENT, WireClient, error_of, rest, send, sign_in
from tests.support import Servers

API_CSP = "default-src 'none'; frame-ancestors 'none'"
SHOP = "https://shop.example"


async def upload(
    url: str, token: str | None, fields: list[tuple[str, Any, dict[str, str]]]
) -> tuple[int, dict[str, str], Any]:
    """A multipart upload with the given parts in order: (name, value, options)."""
    form = aiohttp.FormData()
    for name, value, options in fields:
        form.add_field(name, value, **options)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{url}/api/v1/attachments", data=form, headers=headers) as response,
    ):
        return response.status, dict(response.headers), await response.json()


def a_file(
    content: bytes, content_type: str | None = "text/plain", name: str = "notes.txt"
) -> tuple[str, Any, dict[str, str]]:
    options = {"filename": name}
    if content_type:
        options["content_type"] = content_type
    return ("file", content, options)


async def test_attachment_uploads_and_downloads_as_documented(servers: Servers) -> None:
    server = await servers.start(attachment_max_bytes=1000)
    visitor = await WireClient.open(server.url, "/customer", {})
    token = (await visitor.ok("session"))["visitor_token"]
    conversation_id = (await visitor.ok("start_conversation"))["conversation"]["id"]
    target = ("conversation_id", conversation_id, {})

    status, _, body = await upload(
        server.url, token, [target, a_file(b"\x89PNG", "image/png", "a.png")]
    )
    assert status == 201 and set(body["data"]) == ATTACHMENT
    image = body["data"]
    assert (image["filename"], image["content_type"], image["size_bytes"]) == (
        "a.png",
        "image/png",
        4,
    )
    assert image["conversation_id"] == conversation_id and image["created_at"].endswith("Z")

    for fields, expected, code in (
        ([target, a_file(b"x" * 1001)], 413, "too_large"),
        (
            [target, a_file(b"MZ", "application/x-msdownload", "a.exe")],
            415,
            "unsupported_media_type",
        ),
        ([target, a_file(b"abc", None, "a.bin")], 415, "unsupported_media_type"),  # no type
        ([target, a_file(b"")], 422, "validation_failed"),
        ([("conversation_id", "not-a-uuid", {}), a_file(b"abc")], 422, "validation_failed"),
        ([a_file(b"abc"), target], 400, "bad_request"),  # file before conversation_id
        ([target], 400, "bad_request"),  # a field missing
        ([target, ("comment", "hi", {}), a_file(b"abc")], 400, "unknown_field"),
    ):
        status, _, body = await upload(server.url, token, fields)
        error = error_of(status, body, expected, code)
        if code == "too_large":
            assert error["details"] == {"max_bytes": 1000}
        if code == "unsupported_media_type":
            assert "image/png" in error["details"]["allowed"]
    status, _, body = await upload(server.url, None, [target, a_file(b"abc")])
    error_of(status, body, 401, "unauthorized")
    stranger = await WireClient.open(server.url, "/customer", {})
    stranger_token = (await stranger.ok("session"))["visitor_token"]
    status, _, body = await upload(server.url, stranger_token, [target, a_file(b"abc")])
    error_of(status, body, 404, "not_found")
    status, _, body = await rest("POST", f"{server.url}/api/v1/attachments", token, {"a": 1})
    error_of(status, body, 400, "bad_request")  # not multipart

    # The signed link works without a header; images are shown inline, sandboxed.
    async with aiohttp.ClientSession() as http:
        async with http.get(server.url + image["url"]) as response:
            assert response.status == 200 and await response.read() == b"\x89PNG"
            assert response.headers["Content-Type"] == "image/png"
            assert response.headers["Content-Disposition"].startswith("inline")
            assert response.headers["X-Content-Type-Options"] == "nosniff"
            assert response.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
            assert response.headers["Cache-Control"] == "private, max-age=300"
    # Bearer: anyone who may see the conversation; nobody else.
    content = f"{server.url}/api/v1/attachments/{image['id']}/content"
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as http:
        async with http.get(content) as response:
            assert response.status == 200 and await response.read() == b"\x89PNG"
    status, _, body = await rest("GET", content, stranger_token)
    error_of(status, body, 404, "not_found")
    # A link's token for another attachment is 404; a broken one 401.
    status, _, body = await upload(server.url, token, [target, a_file(b"second")])
    other = body["data"]
    swapped = content + "?" + other["url"].split("?", 1)[1]
    status, _, body = await rest("GET", swapped)
    error_of(status, body, 404, "not_found")
    status, _, body = await rest("GET", content + "?token=p1.x.y")
    error_of(status, body, 401, "unauthorized")

    # An attachment in a private note is staff-only: the customer gets 404.
    signed_in = await sign_in(server, AgentRole.ADMIN)
    staff = await WireClient.open(server.url, "/agent", {"token": signed_in["token"]})
    status, _, body = await upload(
        server.url, signed_in["token"], [target, a_file(b"staff only", "application/pdf", "n.pdf")]
    )
    note_file = body["data"]
    await staff.ok(
        "send_message",
        send(
            conversation_id, "n1", "note", visibility="internal", attachment_ids=[note_file["id"]]
        ),
    )
    note_content = f"{server.url}/api/v1/attachments/{note_file['id']}/content"
    status, _, body = await rest("GET", note_content, token)
    error_of(status, body, 404, "not_found")
    async with aiohttp.ClientSession() as http:
        async with http.get(server.url + note_file["url"]) as response:  # the staff's link
            assert response.headers["Content-Disposition"].startswith("inline")  # PDF
    # An attachment only its uploader can send, and only in its conversation.
    refused = send(conversation_id, "s1", "", attachment_ids=[other["id"]])
    await staff.error("send_message", refused, "validation_failed")
    for socket in (visitor, stranger, staff):
        await socket.close()


async def test_widget_settings_cors_probes_and_headers(servers: Servers) -> None:
    server = await servers.start(allowed_origins=(SHOP,), metrics_token="metrics-secret-1234")
    api = f"{server.url}/api/v1"
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{api}/widget/settings", headers={"Origin": SHOP}) as response:
            assert response.status == 200
            data = (await response.json())["data"]
            assert response.headers["Access-Control-Allow-Origin"] == SHOP
            assert "Origin" in response.headers["Vary"]
            assert "max-age=15" in response.headers["Cache-Control"]
            assert response.headers["Content-Security-Policy"] == API_CSP
            assert response.headers["X-Frame-Options"] == "DENY"
            assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
        assert set(data) == {
            "color", "position", "greeting", "team_name", "pre_chat", "business_hours",
            "agents_available", "assistant_available", "language", "websocket_only",
            "max_message_length", "typing_timeout_seconds", "attachments",
            "identity_verification",
        }  # fmt: skip
        assert set(data["pre_chat"]) == {"name", "email"}
        assert set(data["business_hours"]) == {
            "open_now", "always_open", "schedule", "timezone", "text",
        }  # fmt: skip
        assert set(data["attachments"]) == {"max_bytes", "types"}
        assert (data["team_name"], data["position"], data["assistant_available"]) == (
            "Support",
            "right",
            False,  # the tests' servers run with the assistant off
        )
        # Preflights: 204 for a listed origin, 403 for another; error answers carry CORS too.
        preflight = {"Origin": SHOP, "Access-Control-Request-Method": "POST",
                     "Access-Control-Request-Headers": "Authorization, Content-Type"}  # fmt: skip
        for route in ("widget/settings", "attachments", "visitors"):
            async with http.options(f"{api}/{route}", headers=preflight) as response:
                assert response.status == 204, route
                headers = response.headers
                assert headers["Access-Control-Allow-Origin"] == SHOP
                assert {m.strip() for m in headers["Access-Control-Allow-Methods"].split(",")} >= {
                    "GET",
                    "POST",
                }
                allowed = {
                    h.strip().lower() for h in headers["Access-Control-Allow-Headers"].split(",")
                }
                assert allowed >= {"authorization", "content-type"}
                assert headers["Access-Control-Max-Age"] == "600"
            async with http.options(
                f"{api}/{route}", headers={**preflight, "Origin": "https://evil.example"}
            ) as response:
                assert response.status == 403, route
        async with http.post(f"{api}/attachments", headers={"Origin": SHOP}) as response:
            assert response.status == 401
            assert response.headers["Access-Control-Allow-Origin"] == SHOP
        async with http.post(f"{api}/visitors", headers={"Origin": SHOP}) as response:
            assert response.status == 201
            assert response.headers["Access-Control-Allow-Origin"] == SHOP
        # Other routes send no CORS headers.
        for url in (f"{api}/me", f"{api}/auth/methods", f"{server.url}/healthz"):
            async with http.get(url, headers={"Origin": SHOP}) as response:
                assert "Access-Control-Allow-Origin" not in response.headers, url

        # Probes: ready, and fan-out idle until the first socket connects.
        async with http.get(f"{server.url}/readyz") as response:
            assert response.status == 200 and await response.json() == {
                "ok": True,
                "checks": {"postgres": "ok", "redis": "ok", "fanout": "idle"},
            }
        visitor = await WireClient.open(server.url, "/customer", {})
        async with http.get(f"{server.url}/readyz") as response:
            assert (await response.json())["checks"]["fanout"] == "ok"
        await visitor.close()

        # Metrics: the token as Bearer, else 401.
        for headers in ({}, {"Authorization": "Bearer wrong"}):
            async with http.get(f"{server.url}/metrics", headers=headers) as response:
                error_of(response.status, await response.json(), 401, "unauthorized")
        bearer = {"Authorization": "Bearer metrics-secret-1234"}
        async with http.get(f"{server.url}/metrics", headers=bearer) as response:
            assert response.status == 200
            assert response.headers["Content-Type"] == "text/plain; version=1.0.0; charset=utf-8"
            text = await response.text()
        samples = [line for line in text.splitlines() if line and not line.startswith("#")]
        assert samples and all('instance="' in line for line in samples)

        # Pages: the console's and the demo's own policies; everything else the API's.
        async with http.get(f"{server.url}/console/", headers={"Origin": SHOP}) as response:
            assert response.headers["Content-Security-Policy"].startswith("default-src 'self'; ")
            assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
            assert response.headers["X-Frame-Options"] == "DENY"
        async with http.get(f"{server.url}/demo/", headers={"Origin": SHOP}) as response:
            assert "frame-ancestors 'self'" in response.headers["Content-Security-Policy"]
            assert "X-Frame-Options" not in response.headers
        async with http.get(f"{server.url}/widget.js") as response:
            assert response.headers["Content-Security-Policy"] == API_CSP
            assert response.headers["Server"] == "Parley"
        async with http.get(f"{server.url}/", allow_redirects=False) as response:
            assert response.status in (301, 302, 307, 308)
            assert response.headers["Location"] == "/demo/"


async def test_metrics_are_off_without_a_token(servers: Servers) -> None:
    server = await servers.start()
    status, _, body = await rest("GET", f"{server.url}/metrics")
    error_of(status, body, 404, "not_found")
