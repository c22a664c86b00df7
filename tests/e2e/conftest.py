"""A real Parley server per test, on a free port, against the session's real services."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from server.config import Settings
from tests.support import RunningServer, start_server


@pytest_asyncio.fixture
async def server(settings: Settings) -> AsyncIterator[RunningServer]:
    running = await start_server(settings)
    yield running
    await running.stop()
