"""The server's resources open in order and close in reverse, also when a later one fails."""

from __future__ import annotations

import asyncpg
import pytest
from aiohttp import web

from server import lifecycle
from server.app import create_app
from server.config import Settings
from tests.e2e.routing_support import eventually


async def _backends(database_url: str | None) -> set[int]:
    """The PostgreSQL backends serving the test database (but this query's own)."""
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT pid FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return {row["pid"] for row in rows}
    finally:
        await conn.close()


async def _none_left_but(database_url: str | None, before: set[int]) -> bool:
    # A closed connection's backend leaves pg_stat_activity a moment after the close.
    return not (await _backends(database_url) - before)


async def test_a_failing_later_resource_closes_the_ones_opened_before_it(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = await _backends(settings.database_url)
    closed: list[str] = []

    def broken_assistant(*_: object) -> object:
        raise RuntimeError("the assistant's model cannot load")

    original_close = lifecycle.close_pool

    async def recording_close(pool: asyncpg.Pool) -> None:
        closed.append("database")
        await original_close(pool)

    monkeypatch.setattr(lifecycle, "build_assistant", broken_assistant)
    monkeypatch.setattr(lifecycle, "close_pool", recording_close)
    runner = web.AppRunner(create_app(settings), handle_signals=False)
    with pytest.raises(RuntimeError, match="cannot load"):
        await runner.setup()
    await runner.cleanup()  # what web.run_app does when start-up fails
    assert closed == ["database"]
    await eventually(lambda: _none_left_but(settings.database_url, before))


async def test_resources_start_in_order_and_stop_in_reverse(settings: Settings) -> None:
    app = create_app(settings)
    names = [ctx.__name__ for ctx in app.cleanup_ctx]
    assert names == [
        "metrics_ctx",
        "database_ctx",
        "redis_ctx",
        "assistant_ctx",
        "services_ctx",
        "background_ctx",
    ]
    before = await _backends(settings.database_url)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    try:
        assert await _backends(settings.database_url) - before
    finally:
        await runner.cleanup()
    await eventually(lambda: _none_left_but(settings.database_url, before))
