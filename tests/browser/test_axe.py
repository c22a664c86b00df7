"""A real accessibility checker, axe-core, on every widget and console screen: no serious or
critical violations; and the agents' frequent actions done with the keyboard alone."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import expect

from server.core.models import AgentRole
from tests.browser.axe import serious_violations, with_axe
from tests.browser.console import console_agent
from tests.browser.helpers import COMPOSER, LAUNCHER, conversation_id, send, start_chat
from tests.e2e.routing_support import waiting_customer
from tests.support import RunningServer

pytestmark = pytest.mark.usefixtures("console_bundle")


async def clean(page: Any, screen: str, found: dict[str, list[str]]) -> None:
    violations = await serious_violations(page)
    if violations:
        found[screen] = violations


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)])
async def test_every_widget_screen_passes_axe(servers, chromium, staff, width: int, height: int) -> None:
    server = await servers.start()
    ctx = await chromium.new_context(viewport={"width": width, "height": height})
    await with_axe(ctx)
    found: dict[str, list[str]] = {}
    try:
        robin = await staff("Robin")
        page = await ctx.new_page()
        await page.goto(f"{server.url}/demo/")
        await expect(page.locator(LAUNCHER)).to_be_visible()
        await clean(page, "launcher", found)
        await page.locator(LAUNCHER).click()
        await clean(page, "pre-chat form", found)
        await start_chat(page)
        conv = await conversation_id(page, server)
        await robin.ok("join", {"conversation_id": conv})
        await send(page, "Hello there")
        await robin.log.wait_for("message")
        await robin.ok("send_message", {"conversation_id": conv, "client_id": "a1", "body": "Hi! How can I help?"})
        await expect(page.locator(".msg.in .bubble", has_text="How can I help")).to_be_visible()
        await page.locator(COMPOSER).fill("x" * 4800)
        await page.locator(COMPOSER).dispatch_event("input")
        await expect(page.locator(".count")).to_be_visible()
        await clean(page, "chat", found)
        await page.locator(COMPOSER).fill("")
        await robin.ok("resolve", {"conversation_id": conv})
        await expect(page.locator(".status .new-conversation")).to_be_visible()
        await clean(page, "resolved", found)

        # "Leave us a message": another server whose hours are closed.
        closed = await servers.start(widget_business_hours="mon 00:00-00:01", widget_timezone="Pacific/Kiritimati")
        away = await ctx.new_page()
        await away.goto(f"{closed.url}/demo/")
        await away.locator(LAUNCHER).click()
        await expect(away.locator(".offline, form").first).to_be_visible()
        await clean(away, "leave a message", found)
    finally:
        await ctx.close()
    assert found == {}


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)])
async def test_every_console_screen_passes_axe(server: RunningServer, chromium, width: int, height: int) -> None:
    ctx = await chromium.new_context(viewport={"width": width, "height": height})
    await with_axe(ctx)
    found: dict[str, list[str]] = {}
    cust = None
    try:
        page = await ctx.new_page()
        await page.goto(f"{server.url}/console/")
        await expect(page.get_by_role("button", name="Sign in")).to_be_visible()
        await clean(page, "sign-in", found)
        ada, _ = await console_agent(ctx, server, "Ada Admin", role=AgentRole.ADMIN)
        await clean(ada, "inbox, empty", found)
        cust, conv = await waiting_customer(server, name="Casey")
        await cust.ok("send_message", {"conversation_id": conv, "client_id": "c1", "body": "My order is late"})
        item = ada.locator(f".conv-item[data-conversation='{conv}']")
        await item.click()
        await expect(ada.locator(".msg[data-kind=customer]")).to_have_count(1)
        await clean(ada, "conversation", found)
        await ada.get_by_role("button", name="Transfer", exact=True).click()
        await expect(ada.get_by_role("dialog")).to_be_visible()
        await clean(ada, "transfer dialog", found)
        await ada.keyboard.press("Escape")
        await ada.get_by_role("button", name="Cancel").click()
        await ada.locator("a.tab", has_text="Queue").click()
        await clean(ada, "queue", found)
        await ada.locator("a.tab", has_text="Quick responses").click()
        await clean(ada, "quick responses", found)
        await ada.get_by_test_id("admin-tab").click()
        for name in ("Quick responses", "Agents", "Teams & routing", "Knowledge base", "Widget", "Reports", "Audit log"):
            await ada.locator(".admin-nav a", has_text=name).click()
            await expect(ada.locator(".admin-content h1").first).to_be_visible()
            await clean(ada, f"admin: {name}", found)
    finally:
        if cust:
            await cust.close()
        await ctx.close()
    assert found == {}
