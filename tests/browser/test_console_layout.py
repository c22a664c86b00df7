"""The console at 1280x800 and on a tablet: nothing overflows sideways, and the conversation
stays usable. Screenshots go to test-artifacts/ to be looked at."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.browser.console import console_agent
from tests.e2e.routing_support import waiting_customer
from tests.support import RunningServer

pytestmark = pytest.mark.usefixtures("console_bundle")


@pytest.mark.parametrize(
    ("width", "height", "name"),
    [(1280, 800, "desktop"), (820, 1180, "tablet"), (390, 844, "phone")],
)
async def test_layouts(
    server: RunningServer, chromium, artifacts, width: int, height: int, name: str
) -> None:
    ctx = await chromium.new_context(
        viewport={"width": width, "height": height}, has_touch=name != "desktop"
    )
    cust, conv = await waiting_customer(
        server,
        name="Casey Jones",
        email="casey@example.com",
        page_url="https://shop.example/checkout",
    )
    try:
        await cust.ok(
            "send_message",
            {
                "conversation_id": conv,
                "client_id": "c1",
                "body": "Hi! My order #1042 arrived damaged. Can I get a replacement?",
            },
        )
        page, _ = await console_agent(ctx, server, "Robin Agent")
        item = page.locator(f".conv-item[data-conversation='{conv}']")
        await expect(item).to_be_visible()
        # No page wider than the screen, on the list either.
        await page.screenshot(path=str(artifacts / f"console-{name}-inbox-list.png"))
        assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        await item.click()
        await page.locator("textarea[aria-label=Reply]").fill(
            "So sorry to hear that, Casey! I'll send a replacement today."
        )
        await page.locator("textarea[aria-label=Reply]").press("Enter")
        await expect(page.locator(".msg.out .bubble")).to_have_count(1)
        assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        composer = await page.locator(".composer").bounding_box()
        assert composer is not None and composer["y"] + composer["height"] <= height
        await page.screenshot(path=str(artifacts / f"console-{name}-conversation.png"))
        if name != "desktop":
            # One pane at a time: the thread fills the screen, its actions within reach.
            thread = await page.locator(".thread").bounding_box()
            assert (
                thread is not None and thread["x"] >= 0 and thread["x"] + thread["width"] <= width
            )
            for action in ("Transfer", "Resolve", "Details"):
                box = await page.get_by_role("button", name=action, exact=True).bounding_box()
                assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, (
                    action
                )
            # The customer's details open as an overlay, and close again.
            await expect(page.get_by_test_id("sidebar")).to_have_count(0)
            await page.get_by_role("button", name="Details").click()
            await expect(page.get_by_test_id("sidebar")).to_contain_text("casey@example.com")
            await page.screenshot(path=str(artifacts / "console-tablet-details.png"))
            await page.get_by_role("button", name="Close customer details").click()
            await expect(page.get_by_test_id("sidebar")).to_have_count(0)
            # One column: back to the list.
            await page.get_by_role("button", name="Back to the list").click()
            await expect(item).to_be_visible()
            await page.screenshot(path=str(artifacts / "console-tablet-inbox.png"))
    finally:
        await cust.close()
        await ctx.close()
