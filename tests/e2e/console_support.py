"""REST helpers for the console's endpoints: a signed-in HTTP session per agent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp

from server.core.models import AgentRole
from tests.support import RunningServer, agent_token


class Rest:
    def __init__(self, http: aiohttp.ClientSession, agent_id: str) -> None:
        self.http = http
        self.agent_id = agent_id

    async def call(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        async with self.http.request(method, path, **kwargs) as response:
            if response.content_type == "application/json":
                return response.status, await response.json()
            return response.status, await response.text()

    async def ok(self, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
        got, body = await self.call(method, path, **kwargs)
        assert got == status, (got, body)
        return body["data"]


@asynccontextmanager
async def signed_in(
    server: RunningServer,
    *,
    role: AgentRole = AgentRole.AGENT,
    name: str = "Agent",
    teams: tuple[str, ...] = ("support",),
    max_chats: int | None = None,
) -> AsyncIterator[Rest]:
    agent_id, token = await agent_token(
        server, role=role, name=name, teams=teams, max_chats=max_chats
    )
    async with aiohttp.ClientSession(
        base_url=server.url, headers={"Authorization": f"Bearer {token}"}
    ) as http:
        rest = Rest(http, str(agent_id))
        rest.token = token  # type: ignore[attr-defined]
        yield rest
