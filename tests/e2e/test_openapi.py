"""The OpenAPI description lists every REST route, with the request bodies the server decodes."""

from __future__ import annotations

import aiohttp

from tests.support import RunningServer


async def test_every_api_route_is_described(server: RunningServer) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{server.url}/api/v1/openapi.json") as response,
    ):
        assert response.status == 200
        doc = await response.json()
    assert doc["openapi"].startswith("3.1")
    described = {(method.upper(), path) for path, ops in doc["paths"].items() for method in ops}
    registered = set()
    for route in server.app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter")
        if path and path.startswith("/api/") and route.method not in ("HEAD", "OPTIONS"):
            registered.add((route.method, path))
    assert registered == described
    login = doc["paths"]["/api/v1/auth/login"]["post"]
    ref = login["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = doc["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert set(schema["required"]) == {"email", "password"}
    assert doc["paths"]["/api/v1/admin/agents"]["get"]["security"] == [{"bearer": []}]
    qr = doc["components"]["schemas"]["QuickResponseBody"]
    assert qr["properties"]["scope"]["$ref"].endswith("QuickResponseScope")
