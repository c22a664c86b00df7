"""A visitor chats in the widget with an agent on a real socket: messages, typing, receipts."""

from __future__ import annotations

from playwright.async_api import expect

from tests.browser.helpers import (
    COMPOSER,
    chat_joined_by,
    send,
    texts,
)
from tests.support import RunningServer


async def test_messages_typing_and_receipts_both_ways(
    server: RunningServer, visitor, staff, artifacts
) -> None:
    robin = await staff("Robin")
    page, conv = await chat_joined_by(visitor, server, robin)

    await send(page, "Hello, my invoice is wrong")
    got = await robin.log.wait_for("message")
    assert got[0]["body"] == "Hello, my invoice is wrong" and got[0]["sender_name"] == "Casey"
    await expect(page.locator(".msg.out .state")).to_have_attribute("data-status", "sent")

    # Agent receipts turn the customer's ticks into delivered, then read.
    await robin.ok("mark_delivered", {"conversation_id": conv, "seq": 1})
    await expect(page.locator(".msg.out .state")).to_have_attribute("data-status", "delivered")
    await robin.ok("mark_read", {"conversation_id": conv, "seq": 1})
    await expect(page.locator(".msg.out .state")).to_have_attribute("data-status", "read")

    # Agent typing shows in the widget; the agent's message appears with name and avatar.
    await robin.ok("typing", {"conversation_id": conv, "typing": True})
    await expect(page.locator(".typing")).to_contain_text("Robin")
    await robin.ok(
        "send_message",
        {"conversation_id": conv, "client_id": "a1", "body": "Sorry! Which invoice?"},
    )
    await expect(page.locator(".msg.in:not(.greeting) .bubble")).to_have_text(
        "Sorry! Which invoice?"
    )
    await expect(page.locator(".msg.in:not(.greeting) .who")).to_have_text("Robin")
    await expect(page.locator(".head p")).to_have_text("Robin is helping you")

    # The widget reports delivery and reading of the agent's message (the panel is open).
    receipts = await robin.log.wait_for(
        "receipt", lambda r: r["reader_kind"] == "customer" and r["read_seq"] >= 2
    )
    assert receipts

    # Customer typing reaches the agent, throttled, and stops when the composer empties.
    before = len(robin.log.of("typing"))
    await page.locator(COMPOSER).press_sequentially("Numb", delay=50)
    started = await robin.log.wait_for(
        "typing", lambda t: t["typing"] is True and t["sender_kind"] == "customer", count=2
    )
    assert started[-1]["sender_name"] == "Casey"
    await page.locator(COMPOSER).fill("")
    await page.locator(COMPOSER).dispatch_event("input")
    await robin.log.wait_for(
        "typing", lambda t: t["typing"] is False and t["sender_kind"] == "customer", count=2
    )
    # Four keystrokes, one start: refreshes are throttled, and repeated starts are silent.
    assert [t["typing"] for t in robin.log.of("typing")[before:]] == [True, False]

    await page.screenshot(path=str(artifacts / "widget-desktop.png"), animations="disabled")
    assert await texts(page) == ["Hello, my invoice is wrong", "Sorry! Which invoice?"]
