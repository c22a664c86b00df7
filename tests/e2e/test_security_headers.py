"""Every page and API answer carries the security headers a review expects, and no version."""

from __future__ import annotations

import asyncio

import aiohttp

from tests.support import RunningServer

COMMON = {"x-content-type-options": "nosniff", "referrer-policy": "strict-origin-when-cross-origin"}


async def _headers(
    http: aiohttp.ClientSession, method: str, path: str
) -> tuple[int, dict[str, str]]:
    async with http.request(method, path, allow_redirects=False) as response:
        await response.read()
        return response.status, {k.lower(): v for k, v in response.headers.items()}


async def test_every_kind_of_response_has_the_headers(server: RunningServer) -> None:
    async with aiohttp.ClientSession(base_url=server.url) as http:
        for method, path, status in [
            ("GET", "/healthz", 200),
            ("GET", "/api/v1/widget/settings", 200),
            ("GET", "/api/v1/openapi.json", 200),
            ("GET", "/api/v1/me", 401),
            ("GET", "/api/v1/no-such-route", 404),
            ("DELETE", "/api/v1/visitors", 405),
            ("GET", "/widget.js", 200),
            ("GET", "/", 302),
            ("GET", "/socket.io/?EIO=4&transport=polling", 200),
        ]:
            got, headers = await _headers(http, method, path)
            assert got == status, (path, got)
            assert headers["server"] == "Parley", path
            assert {k: headers.get(k) for k in COMMON} == COMMON, path
            assert (
                headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
            ), path
            assert headers["x-frame-options"] == "DENY", path
        _, console = await _headers(http, "GET", "/console/")
        policy = console["content-security-policy"]
        assert "frame-ancestors 'none'" in policy and "script-src 'self';" in policy
        assert "unsafe" not in policy and console["x-frame-options"] == "DENY"
        _, demo = await _headers(http, "GET", "/demo/")
        assert "script-src 'self';" in demo["content-security-policy"]
        assert "x-frame-options" not in demo  # a sample customer site; it may be framed by itself
        _, script = await _headers(http, "GET", "/static/demo/demo.js")
        assert script["x-content-type-options"] == "nosniff"


async def test_malformed_http_answers_name_no_version(server: RunningServer) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"GET / HTTP/1.1\r\nHost: t\r\nBad Header\r\n\r\n")
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    assert answer.startswith(b"HTTP/1.0 400") and b"\r\nServer: Parley\r\n" in answer, answer[:200]
