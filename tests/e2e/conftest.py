"""End-to-end tests: real servers (the `server` and `servers` fixtures of tests/conftest.py)
against the session's real services, driven by real Socket.IO and HTTP clients."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from server.config import Settings
from server.embedded import EmbeddedValkey
from tests.e2e.assistant_support import seed_help_center


@pytest_asyncio.fixture
async def help_center(settings: Settings) -> None:
    """The demo help center in the test's database (assistant tests ask for it)."""
    await seed_help_center(settings.database_url)


@pytest.fixture
def valkey(tmp_path: Path) -> Iterator[EmbeddedValkey]:
    """A Valkey of this test's own, to kill and pause without touching the session's."""
    server = EmbeddedValkey(tmp_path / "valkey")
    server.start()
    yield server
    server.stop()
