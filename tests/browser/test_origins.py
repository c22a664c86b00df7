"""Only the sites in PARLEY_ALLOWED_ORIGINS can open the widget's socket."""

from __future__ import annotations

import asyncpg
from playwright.async_api import expect

from tests.browser.helpers import COMPOSER, LAUNCHER, PANEL, send, start_chat


def embed(server_url: str) -> str:
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop</title></head>
<body><h1>Shop</h1><script src="{server_url}/widget.js" async></script></body></html>"""


async def test_a_site_not_in_the_allowed_origins_cannot_connect(
    servers, visitor, staff, host
) -> None:
    server = await servers.start(
        allowed_origins=("https://shop.example",),
        widget_prechat_name="hidden",
        widget_prechat_email="hidden",
    )
    await staff(on=server)
    page = await visitor.new_page()
    blocked: list[str] = []
    page.on(
        "console", lambda message: blocked.append(message.text) if "CORS" in message.text else None
    )
    await page.goto(host.page("/", embed(server.url)))
    await page.locator(LAUNCHER).click()
    await page.locator(PANEL).wait_for(state="visible")
    await expect(page.locator(".banner")).to_contain_text("Can't reach the chat")
    # Not even the settings are readable from this origin (CORS), so the widget falls back to
    # its defaults, pre-chat form included; what the visitor writes waits in the outbox.
    await start_chat(page)
    await send(page, "Can anyone hear me?")
    await expect(page.locator(".msg.pending")).to_have_attribute("data-state", "queued")
    # The browser blocked both the settings and the socket handshake for this origin.
    assert any("/api/v1/widget/settings" in text for text in blocked), blocked
    assert any("/socket.io/" in text for text in blocked), blocked
    conn = await asyncpg.connect(server.settings.database_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM customers") == 0
        assert await conn.fetchval("SELECT count(*) FROM messages") == 0
    finally:
        await conn.close()


async def test_an_allowed_site_chats_across_origins(servers, visitor, staff, host) -> None:
    server = await servers.start(
        allowed_origins=(host.url,), widget_prechat_name="hidden", widget_prechat_email="hidden"
    )
    robin = await staff(on=server)
    page = await visitor.new_page()
    await page.goto(host.page("/", embed(server.url)))
    await page.locator(LAUNCHER).click()
    await expect(page.locator(COMPOSER)).to_be_visible()
    await send(page, "Hello from the shop")
    await expect(page.locator(".msg.out .state")).to_have_attribute("data-status", "sent")
    conn = await asyncpg.connect(server.settings.database_url)
    try:
        conv = str(await conn.fetchval("SELECT id FROM conversations"))
    finally:
        await conn.close()
    history = await robin.ok("history", {"conversation_id": conv})
    assert [m["body"] for m in history["messages"]] == ["Hello from the shop"]
