"""A deploy restarts the server under open pages: the widget and the console reconnect by
themselves, without a reload, and carry on where they were; a message keeps its client id
across every retry."""

from __future__ import annotations

import asyncio
import json
import uuid

import asyncpg
import pytest
from playwright.async_api import expect

from server.api.keys import DRAIN
from tests.browser.console import console_agent
from tests.browser.helpers import conversation_id, new_chat, send, texts
from tests.support import RunningServer, Servers

pytestmark = pytest.mark.usefixtures("console_bundle")

REPLY = "textarea[aria-label=Reply]"


async def test_widget_and_console_reconnect_by_themselves_after_a_restart(
    servers: Servers, chromium, visitor
) -> None:
    server = await servers.start()
    agent_ctx = await chromium.new_context(viewport={"width": 1280, "height": 800})
    try:
        robin, _ = await console_agent(agent_ctx, server, "Robin Agent")
        await expect(robin.locator(".presence.online")).to_be_visible()
        customer = await new_chat(visitor, server, name="Casey Jones", email="casey@example.com")
        conv = await conversation_id(customer, server)
        await send(customer, "Before the restart")
        item = robin.locator(f".conv-item[data-conversation='{conv}']")
        await item.click()
        await expect(robin.locator(".msg.in .bubble")).to_have_text("Before the restart")
        # Marks that a reload would wipe.
        for page in (robin, customer):
            await page.evaluate("window.__sameDocument = true")

        server = await servers.restart(server)

        # Both pages are back on their own: what each sends reaches the other, live.
        await send(customer, "After the restart")
        await expect(robin.locator(".msg.in .bubble")).to_have_text(
            ["Before the restart", "After the restart"]
        )
        await robin.locator(REPLY).fill("Still here")
        await robin.locator(REPLY).press("Enter")
        await expect(customer.locator(".msg.in:not(.greeting) .bubble")).to_have_text("Still here")
        await expect(robin.locator(".conn")).to_have_count(0)
        assert await texts(customer) == ["Before the restart", "After the restart", "Still here"]
        for page in (robin, customer):
            assert await page.evaluate("window.__sameDocument === true")
    finally:
        await agent_ctx.close()


async def test_the_console_retries_a_refused_message_with_the_same_client_id(
    server: RunningServer, chromium, visitor
) -> None:
    agent_ctx = await chromium.new_context(viewport={"width": 1280, "height": 800})
    try:
        robin, _ = await console_agent(agent_ctx, server, "Robin Agent")
        await expect(robin.locator(".presence.online")).to_be_visible()
        customer = await new_chat(visitor, server, name="Casey Jones", email="casey@example.com")
        conv = await conversation_id(customer, server)
        await send(customer, "Hello?")
        await robin.locator(f".conv-item[data-conversation='{conv}']").click()
        await expect(robin.locator(".msg.in .bubble")).to_have_text("Hello?")

        attempts: list[str] = []
        retried = asyncio.Event()

        def sent(payload: object) -> None:
            text = payload if isinstance(payload, str) else ""
            if '["send_message"' in text:
                attempts.append(json.loads(text[text.index("[") :])[1]["client_id"])
                if len(attempts) >= 2:
                    retried.set()

        robin.on("websocket", lambda ws: ws.on("framesent", sent))
        await robin.reload()  # the socket opened after the listener, so its frames are seen
        await robin.locator(f".conv-item[data-conversation='{conv}']").click()
        await expect(robin.locator(".msg.in .bubble")).to_have_text("Hello?")

        # The process starts draining: events are answered `unavailable` and not run.
        drain = server.app[DRAIN]
        drain.begin()
        await robin.locator(REPLY).fill("Sorry for the wait")
        await robin.locator(REPLY).press("Enter")
        await asyncio.wait_for(retried.wait(), 10)
        drain.draining = False  # the next attempt goes through

        await expect(customer.locator(".msg.in:not(.greeting) .bubble")).to_have_text(
            "Sorry for the wait"
        )
        assert len(set(attempts)) == 1 and len(attempts) >= 2
        history = await _history(server, conv)
        assert [m["body"] for m in history] == ["Hello?", "Sorry for the wait"]
    finally:
        await agent_ctx.close()


async def _history(server: RunningServer, conversation: str) -> list[dict[str, object]]:
    conn = await asyncpg.connect(server.settings.database_url)
    try:
        rows = await conn.fetch(
            "SELECT body FROM messages WHERE conversation_id = $1 ORDER BY seq",
            uuid.UUID(conversation),
        )
    finally:
        await conn.close()
    return [dict(r) for r in rows]
