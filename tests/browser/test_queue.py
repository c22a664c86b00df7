"""The visitor's place in line: shown on start, updated live as the line moves."""

from __future__ import annotations

from playwright.async_api import expect

from tests.browser.helpers import new_chat
from tests.support import RunningServer


async def test_queue_position_shows_and_moves(
    server: RunningServer, chromium, visitor, staff
) -> None:
    # An agent of another team is online, so the widget offers a live chat; nobody in the
    # support team is, so visitors wait in its line.
    await staff("Billing person", teams=("billing",))
    first = await new_chat(visitor, server, name="First")
    await expect(first.locator(".status .queue")).to_have_text("You're number 1 in line")

    other = await chromium.new_context(viewport={"width": 1280, "height": 800})
    try:
        second = await new_chat(other, server, name="Second")
        await expect(second.locator(".status .queue")).to_have_text("You're number 2 in line")

        # A support agent with room for one comes online: the first visitor is served, and
        # the second moves up without reloading.
        await staff("Robin", max_chats=1)
        await expect(first.locator(".head p")).to_have_text("Robin is helping you")
        await expect(second.locator(".status .queue")).to_have_text("You're number 1 in line")
    finally:
        await other.close()
