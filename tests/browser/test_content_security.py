"""The console and the demo site with the widget work under their Content-Security-Policy:
no inline script anywhere, and the browser reports no violation."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import expect

from tests.browser.console import console_agent
from tests.browser.helpers import COMPOSER, PANEL, conversation_id, send, start_chat, texts
from tests.e2e.routing_support import waiting_customer
from tests.support import RunningServer

pytestmark = pytest.mark.usefixtures("console_bundle")

RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""


async def _watched(context: Any) -> tuple[Any, list[str]]:
    """A new page that records CSP violations (events and console reports)."""
    await context.add_init_script(RECORD_VIOLATIONS)
    page = await context.new_page()
    reports: list[str] = []
    page.on(
        "console",
        lambda message: (
            reports.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return page, reports


async def _violations(page: Any, reports: list[str]) -> list[str]:
    return [*await page.evaluate("window.__violations"), *reports]


async def test_the_demo_and_widget_work_under_their_policy(
    server: RunningServer, visitor, staff
) -> None:
    robin = await staff("Robin")  # someone is online, so the widget offers a chat
    page, reports = await _watched(visitor)
    response = await page.goto(f"{server.url}/demo/")
    policy = response.headers["content-security-policy"]
    assert (
        "script-src 'self'" in policy
        and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    )
    await page.wait_for_function("() => Boolean(window.Parley)")
    # The page's own button, wired by a script file instead of an inline handler.
    await page.get_by_role("button", name="Talk to us").click()
    await page.locator(PANEL).wait_for(state="visible")
    await start_chat(page)
    await send(page, "Hello under a strict policy")
    conv = await conversation_id(page, server)
    await robin.ok("join", {"conversation_id": conv})
    await robin.ok(
        "send_message", {"conversation_id": conv, "client_id": "r1", "body": "Hi from Robin"}
    )
    await expect(page.locator(".log .msg.in .bubble").last).to_have_text("Hi from Robin")
    assert "Hello under a strict policy" in await texts(page)
    await expect(page.locator(COMPOSER)).to_be_visible()
    assert await _violations(page, reports) == []


async def test_the_console_works_under_its_policy_and_cannot_be_framed(
    server: RunningServer, chromium
) -> None:
    context = await chromium.new_context(viewport={"width": 1280, "height": 800})
    try:
        await context.add_init_script(RECORD_VIOLATIONS)
        customer, conv = await waiting_customer(server)
        await customer.ok(
            "send_message", {"conversation_id": conv, "client_id": "c1", "body": "Need help"}
        )
        page, _ = await console_agent(context, server, "Robin Agent")
        reports: list[str] = []
        page.on(
            "console",
            lambda m: reports.append(m.text) if "Content Security Policy" in m.text else None,
        )
        response = await page.reload()
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert response.headers["x-frame-options"] == "DENY"
        item = page.locator(f".conv-item[data-conversation='{conv}']")
        await item.click()
        await expect(page.locator(".msg.in .bubble")).to_have_text("Need help")
        await page.locator("textarea[aria-label=Reply]").fill("On it")
        await page.locator("textarea[aria-label=Reply]").press("Enter")
        await customer.log.wait_for("message", lambda m: m["body"] == "On it")
        assert await _violations(page, reports) == []
        await customer.close()
    finally:
        await context.close()
