"""Everything people write renders as text in the console: customer names, messages, quick
responses and knowledge-base articles. And attachments: images inline, from signed links."""

from __future__ import annotations

import aiohttp
import pytest
from playwright.async_api import expect

from server.core.models import AgentRole
from tests.browser.console import console_agent
from tests.browser.test_attachments import PIXEL
from tests.e2e.routing_support import waiting_customer
from tests.support import RunningServer

pytestmark = pytest.mark.usefixtures("console_bundle")

NAME = '<img src=x onerror="window.__xss=1">Mallory'
BODY = '<script>window.__xss=2</script><img src=x onerror="window.__xss=3"> javascript:alert(1)'
QR_TITLE = '<img src=x onerror="window.__xss=4">Title'
QR_BODY = '<b onmouseover="window.__xss=5">bold</b> {{customer.name}}'
ARTICLE = '# <img src=x onerror="window.__xss=6">Article\n\n<script>window.__xss=7</script> text'


async def test_payloads_render_as_text(server: RunningServer, visitor) -> None:
    robin, _ = await console_agent(visitor, server, "Robin", role=AgentRole.ADMIN)
    token = await robin.evaluate("sessionStorage.getItem('parley-console:token')")
    async with aiohttp.ClientSession(
        base_url=server.url, headers={"Authorization": f"Bearer {token}"}
    ) as http:
        async with http.post(
            "/api/v1/quick-responses",
            json={"scope": "global", "shortcut": "x", "title": QR_TITLE, "body": QR_BODY},
        ) as r:
            assert r.status == 201
        async with http.post(
            "/api/v1/knowledge/articles", json={"slug": "evil", "body": ARTICLE}
        ) as r:
            assert r.status == 201, await r.text()
    await robin.reload()
    await expect(robin.locator(".presence.online")).to_be_visible()
    cust, conv = await waiting_customer(
        server, name=NAME, attributes={"plan": "<i>pro</i>"}, page_url="javascript:alert(1)"
    )
    try:
        await cust.ok("send_message", {"conversation_id": conv, "client_id": "c1", "body": BODY})
        item = robin.locator(f".conv-item[data-conversation='{conv}']")
        await expect(item).to_contain_text(NAME)
        await item.click()
        await expect(robin.locator(".msg.in .bubble")).to_have_text(BODY)
        await expect(robin.locator(".thread-head h2")).to_have_text(NAME)
        sidebar = robin.get_by_test_id("sidebar")
        await expect(sidebar).to_contain_text("<i>pro</i>")
        # A javascript: page URL is shown, never linked.
        assert await sidebar.locator("a[href^=javascript]").count() == 0
        assert await robin.locator(".log img, .sidebar img, .conv-list img").count() == 0

        composer = robin.locator("textarea[aria-label=Reply]")
        await composer.press_sequentially("/x")
        await expect(robin.get_by_test_id("quick-picker")).to_contain_text(QR_TITLE)
        await composer.press("Enter")
        await expect(composer).to_have_value(f'<b onmouseover="window.__xss=5">bold</b> {NAME}')
        await composer.press("Enter")
        await expect(robin.locator(".msg.out .bubble")).to_have_text(
            f'<b onmouseover="window.__xss=5">bold</b> {NAME}'
        )

        # Attachments: an image is uploaded, sent and shown inline from its signed link.
        await robin.get_by_test_id("file-input").set_input_files(
            {"name": "shot.png", "mimeType": "image/png", "buffer": PIXEL}
        )
        await expect(robin.locator(".chip")).to_contain_text("shot.png")
        await robin.get_by_role("button", name="Send").click()
        image = robin.locator(".msg.out .attachments img")
        await expect(image).to_have_attribute("alt", "shot.png")
        # The image loads lazily: wait until it is in view and decoded, not just rendered.
        await image.scroll_into_view_if_needed()
        await robin.wait_for_function(
            "img => img.complete && img.naturalWidth === 1", arg=await image.element_handle()
        )
        got = await cust.log.wait_for("message", lambda m: m["attachments"])
        assert got[0]["attachments"][0]["filename"] == "shot.png"

        await robin.goto(f"{server.url}/console/#/admin/knowledge")
        row = robin.locator("tr[data-slug=evil]")
        await expect(row).to_contain_text('<img src=x onerror="window.__xss=6">Article')
        await row.get_by_role("button", name="Edit").click()
        await expect(robin.get_by_role("dialog").locator("textarea")).to_have_value(ARTICLE)
        await robin.get_by_role("dialog").get_by_role("button", name="Cancel").click()
        await robin.goto(f"{server.url}/console/#/admin/quick-responses")
        await expect(robin.locator("tr[data-shortcut=x]")).to_contain_text(QR_TITLE)
        assert await robin.evaluate("window.__xss") is None
    finally:
        await cust.close()
