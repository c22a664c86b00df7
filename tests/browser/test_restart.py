"""A deploy restarts the server under open pages: the widget and the console reconnect by
themselves, without a reload, and carry on where they were."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.browser.conftest import Servers
from tests.browser.console import console_agent
from tests.browser.helpers import conversation_id, new_chat, send, texts

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
