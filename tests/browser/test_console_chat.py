"""An agent in the console and a customer in the widget: assignment, quick responses with
variables, typing and read receipts both ways, private notes; the assistant's reply drafts."""

from __future__ import annotations

import re

import aiohttp
import pytest
from playwright.async_api import expect

from server.core.models import AgentRole
from tests.browser.console import console_agent
from tests.browser.helpers import COMPOSER, conversation_id, new_chat, send
from tests.e2e.routing_support import waiting_customer
from tests.support import RunningServer, agent_token

pytestmark = pytest.mark.usefixtures("console_bundle")

REPLY = "textarea[aria-label=Reply]"


async def login_token(page) -> str:  # type: ignore[no-untyped-def]
    return str(await page.evaluate("sessionStorage.getItem('parley-console:token')"))


async def test_agent_answers_a_widget_customer_with_a_quick_response(
    server: RunningServer, chromium, visitor, artifacts
) -> None:
    agent_ctx = await chromium.new_context(viewport={"width": 1280, "height": 800})
    try:
        robin, _ = await console_agent(agent_ctx, server, "Robin Agent")
        token = await login_token(robin)
        async with aiohttp.ClientSession(
            base_url=server.url, headers={"Authorization": f"Bearer {token}"}
        ) as http:
            async with http.post(
                "/api/v1/quick-responses",
                json={
                    "shortcut": "thanks",
                    "title": "Thanks for waiting",
                    "body": "Hi {{customer.first_name}}, {{agent.first_name}} here. Your order {{order.id}} is on its way.",
                },
            ) as response:
                assert response.status == 201
        await robin.reload()  # picks up the new quick response
        await expect(robin.locator(".presence.online")).to_be_visible()

        # A customer starts a chat in the widget; it is assigned to Robin, who is online.
        customer = await new_chat(visitor, server, name="Casey Jones", email="casey@example.com")
        conv = await conversation_id(customer, server)
        await send(customer, "Hello, where is my order?")
        item = robin.locator(f".conv-item[data-conversation='{conv}']")
        await expect(item).to_contain_text("Casey Jones")
        await expect(item.get_by_test_id("unread")).to_have_text("1")
        await expect(item.get_by_test_id("waiting")).to_contain_text("Waiting for reply")
        await expect(robin.get_by_test_id("load")).to_have_text("1 / 5 chats")

        # Opening it reads it: the customer's message turns "read" in the widget.
        await item.click()
        await expect(robin.locator(".msg.in .bubble")).to_have_text("Hello, where is my order?")
        await expect(item.get_by_test_id("unread")).to_have_count(0)
        await expect(customer.locator(".msg.out .state")).to_have_attribute("data-status", "read")
        await expect(robin.get_by_test_id("sidebar")).to_contain_text("casey@example.com")
        await expect(robin.get_by_test_id("sidebar")).to_contain_text("Not verified")

        # Customer typing shows in the console.
        await customer.locator(COMPOSER).press_sequentially("One more", delay=30)
        await expect(robin.get_by_test_id("typing")).to_contain_text("Casey Jones is typing")
        await customer.locator(COMPOSER).fill("")
        await customer.locator(COMPOSER).dispatch_event("input")
        await expect(robin.get_by_test_id("typing")).to_have_text("")

        # "/tha" opens the quick responses; Enter picks one; the unknown value is asked for.
        composer = robin.locator(REPLY)
        await composer.press_sequentially("/tha", delay=40)
        await expect(customer.locator(".typing")).to_contain_text("Robin")
        picker = robin.get_by_test_id("quick-picker")
        await expect(picker).to_contain_text("/thanks")
        await expect(picker).to_contain_text("Thanks for waiting")
        await composer.press("Enter")
        dialog = robin.get_by_role("dialog")
        await expect(dialog).to_contain_text("Fill in the quick response")
        await dialog.get_by_label("Order id").fill("A-42")
        await dialog.get_by_role("button", name="Insert").click()
        text = "Hi Casey, Robin here. Your order A-42 is on its way."
        await expect(composer).to_have_value(text)
        # Editable before sending.
        await composer.press("End")
        await composer.press_sequentially(" :)")
        await composer.press("Enter")
        await expect(customer.locator(".msg.in:not(.greeting) .bubble")).to_have_text(text + " :)")
        await expect(composer).to_have_value("")
        await expect(customer.locator(".typing")).to_be_hidden()

        # The widget (open) reads it: Robin sees "Read" under the reply.
        await expect(robin.locator(".msg.out .receipt")).to_have_text("Read")
        item = robin.locator(f".conv-item[data-conversation='{conv}']")
        await expect(item.get_by_test_id("waiting")).to_have_count(0)

        # A private note looks different and never reaches the customer.
        await robin.get_by_test_id("note-tab").click()
        note = robin.locator("textarea[aria-label='Private note']")
        await note.fill("VIP customer, be nice")
        await note.press("Enter")
        await expect(robin.locator(".msg.note .bubble")).to_have_text("VIP customer, be nice")
        await expect(robin.locator(".msg.note .note-label")).to_have_text("Private note")
        assert await robin.locator(".msg.note .receipt").count() == 0
        await send(customer, "Thanks!")
        await expect(robin.locator(".msg.in .bubble").last).to_have_text("Thanks!")
        assert "VIP" not in await customer.locator(".log").inner_text()
        await robin.screenshot(path=str(artifacts / "console-conversation.png"))
    finally:
        await agent_ctx.close()


async def test_the_assistant_drafts_a_reply_the_agent_edits(server: RunningServer, visitor) -> None:
    _, admin = await agent_token(server, role=AgentRole.ADMIN, teams=())
    async with aiohttp.ClientSession(
        base_url=server.url, headers={"Authorization": f"Bearer {admin}"}
    ) as http:
        async with http.post(
            "/api/v1/knowledge/articles",
            json={"body": "# Refunds\n\nRefunds take five business days to reach your card."},
        ) as response:
            assert response.status == 201
    robin, _ = await console_agent(visitor, server, "Robin")
    cust, conv = await waiting_customer(server, name="Casey")
    try:
        await cust.ok(
            "send_message",
            {"conversation_id": conv, "client_id": "c1", "body": "How long do refunds take?"},
        )
        await robin.locator(f".conv-item[data-conversation='{conv}']").click()
        await robin.get_by_role("button", name="Suggest").click()
        suggestion = robin.get_by_test_id("suggestion")
        await expect(suggestion).to_contain_text("five business days", timeout=20_000)
        await suggestion.get_by_role("button", name="Use").click()
        composer = robin.locator(REPLY)
        await expect(composer).to_have_value(re.compile(r"five business days"))
        await expect(suggestion).to_have_count(0)
        # Nothing was posted: the agent edits and sends it.
        assert not [m for m in cust.log.of("message") if m["sender_kind"] != "customer"]
    finally:
        await cust.close()
