"""What agents tripped over in the console: the hand-over brief, quick responses, error texts
and small screens."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.browser.conftest import Servers
from tests.browser.console import console_agent, set_status
from tests.browser.test_assistant import assistant_site
from tests.e2e.assistant_support import PASSWORD_QUESTION
from tests.e2e.routing_support import waiting_customer

pytestmark = pytest.mark.usefixtures("console_bundle")


async def test_the_brief_is_compact_said_once_and_folds_once_answered(servers: Servers, visitor, artifacts) -> None:
    server = await assistant_site(servers)  # no model: extractive answers and brief
    robin, _ = await console_agent(visitor, server, "Robin")
    await set_status(robin, "away")
    cust, conv = await waiting_customer(server, name="Casey")
    try:
        await cust.ok("send_message", {"conversation_id": conv, "client_id": "c1", "body": PASSWORD_QUESTION})
        await cust.log.wait_for("message", lambda m: m["sender_kind"] == "assistant" and m["metadata"].get("citations"), timeout=10)
        await set_status(robin, "online")
        item = robin.locator(f".conv-item[data-conversation='{conv}']")
        # The inbox shows what the customer wrote last, not Parley's note about the hand-over.
        await expect(item.locator(".preview")).to_have_text(PASSWORD_QUESTION[:200])
        await item.click()
        brief = robin.get_by_test_id("handover")
        summary = brief.locator(".handover-summary")
        await expect(summary).to_contain_text("reset my password")
        box = await brief.bounding_box()
        assert box is not None and box["height"] <= 200, box  # the thread keeps the room
        # The thread marks the hand-over once, without repeating the brief.
        note = robin.locator(".msg[data-kind=system]")
        await expect(note).to_have_count(1)
        await expect(note).not_to_contain_text("reset my password")
        await robin.screenshot(path=str(artifacts / "console-brief-desktop.png"), animations="disabled")

        # Read means answered: the agent's reply folds it, and it stays folded after a reload.
        await robin.get_by_label("Reply", exact=True).fill("Happy to help with that.")
        await robin.get_by_label("Reply", exact=True).press("Enter")
        await expect(robin.locator(".msg[data-kind=agent]")).to_have_count(1)
        await expect(summary).to_be_hidden()
        await expect(brief.locator("summary")).to_contain_text("reset my password")  # a one-line peek
        await robin.reload()
        await robin.locator(f".conv-item[data-conversation='{conv}']").click()
        await expect(robin.locator(".msg[data-kind=agent]")).to_have_count(1)
        await expect(robin.get_by_test_id("handover")).to_be_visible()
        await expect(robin.get_by_test_id("handover").locator(".handover-summary")).to_be_hidden()
        # The preview now is the agent's own reply.
        await expect(robin.locator(f".conv-item[data-conversation='{conv}'] .preview")).to_have_text("You: Happy to help with that.")
    finally:
        await cust.close()
