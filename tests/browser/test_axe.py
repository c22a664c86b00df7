"""A real accessibility checker, axe-core, on every widget and console screen: no serious or
critical violations; and the agents' frequent actions done with the keyboard alone."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from playwright.async_api import expect

from server.core.models import AgentRole
from tests.browser.axe import serious_violations, with_axe
from tests.browser.console import console_agent
from tests.browser.helpers import COMPOSER, LAUNCHER, conversation_id, send, start_chat
from tests.e2e.routing_support import add_team, waiting_customer
from tests.support import RunningServer, agent_token, eventually

pytestmark = pytest.mark.usefixtures("console_bundle")


class Screens:
    """Checks each screen with axe and for sideways scrolling, and keeps its screenshot
    (test-artifacts/, to be looked at)."""

    def __init__(self, artifacts: Any, prefix: str) -> None:
        self.artifacts = artifacts
        self.prefix = prefix
        self.found: dict[str, list[str]] = {}

    async def check(self, page: Any, screen: str) -> None:
        violations = await serious_violations(page)
        if not await page.evaluate("document.documentElement.scrollWidth <= innerWidth"):
            violations.append("the page is wider than the screen")
        if violations:
            self.found[screen] = violations
        name = "".join(c if c.isalnum() else "-" for c in screen.lower()).strip("-")
        await page.screenshot(
            path=str(self.artifacts / f"{self.prefix}-{name}.png"), animations="disabled"
        )


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)])
async def test_every_widget_screen_passes_axe(
    servers, chromium, staff, artifacts, width: int, height: int
) -> None:
    server = await servers.start()
    # Without motion: colours are judged as they end up, not mid-fade.
    ctx = await chromium.new_context(
        viewport={"width": width, "height": height}, reduced_motion="reduce"
    )
    await with_axe(ctx)
    screens = Screens(artifacts, f"axe-widget-{'phone' if width < 600 else 'desktop'}")
    try:
        robin = await staff("Robin")
        page = await ctx.new_page()
        await page.goto(f"{server.url}/demo/")
        await expect(page.locator(LAUNCHER)).to_be_visible()
        await screens.check(page, "launcher")
        await page.locator(LAUNCHER).click()
        await screens.check(page, "pre-chat form")
        await start_chat(page)
        conv = await conversation_id(page, server)
        await robin.ok("join", {"conversation_id": conv})
        await send(page, "Hello there")
        await robin.log.wait_for("message")
        await robin.ok(
            "send_message",
            {"conversation_id": conv, "client_id": "a1", "body": "Hi! How can I help?"},
        )
        await expect(page.locator(".msg.in .bubble", has_text="How can I help")).to_be_visible()
        await page.locator(COMPOSER).fill("x" * 4800)
        await page.locator(COMPOSER).dispatch_event("input")
        await expect(page.locator(".count")).to_be_visible()
        await screens.check(page, "chat")
        await page.locator(COMPOSER).fill("x" * 5200)
        await page.locator(COMPOSER).dispatch_event("input")
        await expect(page.locator(".count.over")).to_be_visible()
        await screens.check(page, "chat, text too long")
        await page.locator(COMPOSER).fill("")
        await robin.ok("resolve", {"conversation_id": conv})
        await expect(page.locator(".status .new-conversation")).to_be_visible()
        await screens.check(page, "resolved")

        # "Leave us a message": another server whose hours are closed.
        closed = await servers.start(
            widget_business_hours="mon 00:00-00:01", widget_timezone="Pacific/Kiritimati"
        )
        away = await ctx.new_page()
        await away.goto(f"{closed.url}/demo/")
        await away.locator(LAUNCHER).click()
        await expect(away.locator(".offline, form").first).to_be_visible()
        await screens.check(away, "leave a message")
    finally:
        await ctx.close()
    assert screens.found == {}


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)])
async def test_every_console_screen_passes_axe(
    server: RunningServer, chromium, artifacts, width: int, height: int
) -> None:
    ctx = await chromium.new_context(viewport={"width": width, "height": height})
    await with_axe(ctx)
    screens = Screens(artifacts, f"axe-console-{'phone' if width < 600 else 'desktop'}")
    cust = None
    try:
        page = await ctx.new_page()
        await page.goto(f"{server.url}/console/")
        await expect(page.get_by_role("button", name="Sign in")).to_be_visible()
        await screens.check(page, "sign-in")
        ada, _ = await console_agent(ctx, server, "Ada Admin", role=AgentRole.ADMIN)
        await screens.check(ada, "inbox, empty")
        await ada.get_by_role("tab", name="Resolved").click()
        await screens.check(ada, "resolved list")
        await ada.get_by_role("tab", name="Open").click()
        cust, conv = await waiting_customer(server, name="Casey")
        await cust.ok(
            "send_message", {"conversation_id": conv, "client_id": "c1", "body": "My order is late"}
        )
        item = ada.locator(f".conv-item[data-conversation='{conv}']")
        await item.click()
        await expect(ada.locator(".msg[data-kind=customer]")).to_have_count(1)
        await screens.check(ada, "conversation")
        await ada.locator("textarea[aria-label=Reply]").press_sequentially("/")
        await expect(ada.get_by_test_id("quick-picker")).to_be_visible()
        await screens.check(ada, "quick-response picker")
        await ada.locator("textarea[aria-label=Reply]").press("Escape")
        await ada.locator("textarea[aria-label=Reply]").fill("")
        await ada.get_by_role("button", name="Transfer", exact=True).click()
        await expect(ada.get_by_role("dialog")).to_be_visible()
        await screens.check(ada, "transfer dialog")
        await ada.keyboard.press("Escape")
        await expect(ada.get_by_role("dialog")).to_be_hidden()
        await ada.locator("a.tab", has_text="Queue").click()
        await screens.check(ada, "queue")
        await ada.locator("a.tab", has_text="Quick responses").click()
        await screens.check(ada, "quick responses")
        await ada.get_by_test_id("admin-tab").click()
        for name in (
            "Quick responses",
            "Agents",
            "Teams & routing",
            "Knowledge base",
            "Widget",
            "Reports",
            "Audit log",
        ):
            await ada.locator(".admin-nav a", has_text=name).click()
            await expect(ada.locator(".admin-content h1").first).to_be_visible()
            await screens.check(ada, f"admin: {name}")
    finally:
        if cust:
            await cust.close()
        await ctx.close()
    assert screens.found == {}


async def tab_to(page: Any, selector: str, limit: int = 40) -> None:
    """Press Tab until `selector` has the focus, as a keyboard user moves through the page."""
    for _ in range(limit):
        if await page.evaluate("s => document.activeElement?.matches(s) ?? false", selector):
            return
        await page.keyboard.press("Tab")
    raise AssertionError(f"{selector} is not reachable with Tab")


async def test_an_agent_works_a_conversation_with_the_keyboard_alone(
    server: RunningServer, visitor
) -> None:
    billing = await add_team(server, "billing", "Billing")
    robin, _ = await console_agent(visitor, server, "Robin")
    cust, conv = await waiting_customer(server, name="Casey")
    try:
        _, token = await agent_token(server, role=AgentRole.ADMIN, name="Ada Admin", teams=())
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as http:
            async with http.post(f"{server.url}/api/v1/quick-responses", json={
                "shortcut": "thanks", "title": "Thanks", "body": "Thanks for waiting, {{customer.name}}!", "scope": "global",
            }) as response:  # fmt: skip
                assert response.status == 201
        keys = robin.keyboard
        # Open the conversation from the list.
        await tab_to(robin, f".conv-item[data-conversation='{conv}']")
        await keys.press("Enter")
        composer = robin.locator("textarea[aria-label=Reply]")
        await expect(composer).to_be_visible()

        # Send: Alt+/ reaches the composer, Enter sends. (The view binds its shortcuts right
        # after it first paints: a key pressed in that instant is pressed again.)
        async def composer_focused() -> bool:
            await keys.press("Alt+Slash")
            return bool(await composer.evaluate("el => el === document.activeElement"))

        await eventually(composer_focused)
        await expect(composer).to_be_focused()
        await keys.type("Hello Casey")
        await keys.press("Enter")
        sent = await cust.log.wait_for("message", lambda m: m["sender_kind"] == "agent")
        assert [m["body"] for m in sent] == ["Hello Casey"]

        # A quick response: / opens the picker, arrows choose, Enter fills it in, Enter sends.
        await keys.type("/tha")
        await expect(robin.get_by_test_id("quick-picker").get_by_role("option")).to_have_count(1)
        await keys.press("Enter")
        await expect(composer).to_have_value("Thanks for waiting, Casey!")
        await keys.press("Enter")
        await cust.log.wait_for("message", lambda m: m["body"] == "Thanks for waiting, Casey!")

        # Resolve and reopen: Alt+R.
        status = robin.get_by_test_id("status")
        await keys.press("Alt+KeyR")
        await expect(status).to_have_text("resolved")
        await keys.press("Alt+KeyR")
        await expect(status).to_have_text("open")

        # Transfer: Alt+T opens the dialog on its first field; Escape closes it and nothing moves.
        await keys.press("Alt+KeyT")
        dialog = robin.get_by_role("dialog")
        target = dialog.get_by_label("To")
        await expect(target).to_be_focused()
        await keys.press("Escape")
        await expect(dialog).to_be_hidden()
        await keys.press("Alt+KeyT")
        await expect(target).to_be_focused()
        await target.press("ArrowDown")  # the first team: the list starts with teams
        await expect(target).not_to_have_value("")
        chosen = await target.evaluate("s => s.selectedOptions[0].textContent")
        while chosen != "Billing":
            await target.press("ArrowDown")
            chosen = await target.evaluate("s => s.selectedOptions[0].textContent")
        await keys.press("Tab")
        await keys.type("Invoice question")
        await tab_to(robin, "form[role=dialog] button[type=submit]")
        await keys.press("Enter")
        await expect(dialog).to_be_hidden()
        moved = await cust.log.wait_for(
            "conversation_updated", lambda e: e["reason"] == "transferred"
        )
        assert moved[0]["team"] == {"id": str(billing), "name": "Billing"}
    finally:
        await cust.close()
