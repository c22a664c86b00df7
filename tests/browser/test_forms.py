"""The pre-chat form and the "leave us a message" form when nobody can answer."""

from __future__ import annotations

from playwright.async_api import expect

from tests.browser.helpers import COMPOSER, LAUNCHER, PANEL, conversation_id, open_demo
from tests.support import RunningServer, agent, agent_token


async def test_nobody_online_offers_a_message_form_that_becomes_a_conversation(
    server: RunningServer, visitor, artifacts
) -> None:
    page = await visitor.new_page()
    await open_demo(page, server)
    form = page.locator(".form.offline")
    await expect(form).to_be_visible()
    await expect(page.locator(COMPOSER)).to_be_hidden()

    # Email and message are required; the form says so next to the fields.
    await form.locator("button[type=submit]").click()
    email_error = form.locator("input[name=email] ~ .err")
    await expect(email_error).to_have_text("Please fill in this field.")
    await expect(form.locator("input[name=email]")).to_have_attribute("aria-invalid", "true")
    await form.locator("input[name=email]").fill("not-an-email")
    await form.locator("textarea[name=message]").fill("Can I get an invoice with my VAT number?")
    await form.locator("button[type=submit]").click()
    await expect(email_error).to_have_text("Please enter a valid email address.")
    await form.locator("input[name=name]").fill("Dana")
    await form.locator("input[name=email]").fill("dana@example.com")
    await page.screenshot(path=str(artifacts / "widget-offline-form.png"), animations="disabled")
    await form.locator("button[type=submit]").click()

    await expect(page.locator(".notice")).to_contain_text("dana@example.com")
    await expect(page.locator(".msg.out .state")).to_have_attribute("data-status", "sent")
    conv = await conversation_id(page, server)

    # Agents find it as a normal waiting conversation, with the visitor's email stored.
    _, token = await agent_token(server, name="Robin")
    robin = await agent(server.url, token)
    try:
        history = await robin.ok("history", {"conversation_id": conv})
        assert [m["body"] for m in history["messages"]] == [
            "Can I get an invoice with my VAT number?"
        ]
        assert history["messages"][0]["sender_name"] == "Dana"
    finally:
        await robin.close()
    import asyncpg

    conn = await asyncpg.connect(server.settings.database_url)
    try:
        row = await conn.fetchrow(
            "SELECT cu.name, cu.email, c.status FROM conversations c JOIN customers cu ON cu.id = c.customer_id WHERE c.id = $1::uuid",
            conv,
        )
    finally:
        await conn.close()
    assert dict(row) == {"name": "Dana", "email": "dana@example.com", "status": "open"}


async def test_required_pre_chat_fields_are_asked_before_the_chat(servers, visitor, staff) -> None:
    server = await servers.start(widget_prechat_name="hidden", widget_prechat_email="required")
    await staff(on=server)
    page = await visitor.new_page()
    await page.goto(f"{server.url}/demo/")
    await page.locator(LAUNCHER).click()
    await page.locator(PANEL).wait_for(state="visible")
    form = page.locator(".form.prechat")
    await expect(form.locator("input[name=name]")).to_have_count(0)
    email = form.locator("input[name=email]")
    await expect(email).to_be_focused()
    await expect(email).to_have_attribute("aria-required", "true")
    await form.locator("button[type=submit]").click()
    await expect(email).to_have_attribute("aria-invalid", "true")
    await email.fill("sam@example.com")
    await email.press("Enter")
    await expect(page.locator(COMPOSER)).to_be_focused()
    conv = await conversation_id(page, server)
    import asyncpg

    conn = await asyncpg.connect(server.settings.database_url)
    try:
        stored = await conn.fetchval(
            "SELECT cu.email FROM conversations c JOIN customers cu ON cu.id = c.customer_id WHERE c.id = $1::uuid",
            conv,
        )
    finally:
        await conn.close()
    assert stored == "sam@example.com"
