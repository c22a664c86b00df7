"""The queue view: live lines per team, ticking waits, and manual claims that race."""

from __future__ import annotations

import asyncio
import re
import time

import pytest
from playwright.async_api import expect

from tests.browser.console import console_agent
from tests.e2e.routing_support import assignee, eventually, set_team_mode, waiting_customer
from tests.support import RunningServer

pytestmark = pytest.mark.usefixtures("console_bundle")

# Click a button at a given time (ms since the epoch); whether it was there to click.
CLICK_AT = """([selector, at]) => new Promise((resolve) => setTimeout(() => {
  const button = document.querySelector(selector);
  if (button) button.click();
  resolve(Boolean(button));
}, Math.max(0, at - Date.now())))"""

# The server's words for a lost race (which one depends on how far the winner got).
CONFLICT = re.compile(
    r"another agent claimed this conversation first|no longer waiting: someone else took it"
)


async def test_queue_updates_live_and_a_claim_race_has_one_winner(
    server: RunningServer, chromium, artifacts
) -> None:
    await set_team_mode(server, "support", mode="manual")
    first = await chromium.new_context(viewport={"width": 1280, "height": 800})
    second = await chromium.new_context(viewport={"width": 1280, "height": 800})
    customers = []
    try:
        robin, robin_id = await console_agent(first, server, "Robin")
        kim, kim_id = await console_agent(second, server, "Kim")
        for page in (robin, kim):
            await page.locator("a.tab", has_text="Queue").click()
            await expect(page.locator(".card.queue h2")).to_have_text("Support")
            await expect(page.locator(".card.queue .empty")).to_have_text("Nobody is waiting.")

        # Customers arrive: both agents see them appear, in order, with a ticking wait.
        cust, conv = await waiting_customer(
            server, name="Casey <b>bold</b>", page_url="https://shop.example/cart"
        )
        await cust.ok(
            "send_message",
            {"conversation_id": conv, "client_id": "c1", "body": "Where is my <i>order</i>?"},
        )
        customers.append(cust)
        urgent, urgent_conv = await waiting_customer(server, name="Uma")
        customers.append(urgent)
        for page in (robin, kim):
            await expect(page.locator(".queue-entry")).to_have_count(2)
        await expect(robin.locator(".queue-entry").first).to_contain_text("Casey <b>bold</b>")
        await expect(robin.locator(".queue-entry").first.locator(".preview")).to_have_text(
            "Where is my <i>order</i>?"
        )
        await expect(robin.get_by_test_id("queue-count")).to_have_text("2")
        wait = robin.locator(".queue-entry").first.get_by_test_id("wait")
        before = await wait.inner_text()
        await expect(wait).not_to_have_text(before, timeout=5000)  # the wait ticks on its own
        await robin.screenshot(path=str(artifacts / "console-queue.png"))

        # Both click Claim on Casey at once: one wins, the other is told plainly. The clicks
        # are timed in the pages (one clock, the same millisecond): a click driven from here
        # could come after the winner's update already took the row off the other page.
        casey_row = f".queue-entry[data-conversation='{conv}'] button"
        at = time.time() * 1000 + 300
        clicked = await asyncio.gather(
            robin.evaluate(CLICK_AT, [casey_row, at]), kim.evaluate(CLICK_AT, [casey_row, at])
        )
        assert clicked == [True, True]
        # A click returns when it is made, not when the claim is through: wait for the record.
        winner_id = await eventually(lambda: assignee(server, conv))
        assert winner_id in (robin_id, kim_id)
        winner, loser = (robin, kim) if winner_id == robin_id else (kim, robin)
        await expect(winner.locator(".thread-head h2")).to_have_text("Casey <b>bold</b>")
        await expect(loser.get_by_role("alert")).to_have_text(CONFLICT)
        # The line shrinks for everyone.
        await expect(loser.locator(".queue-entry")).to_have_count(1)
        await expect(loser.locator(".queue-entry")).to_contain_text("Uma")
        assert urgent_conv
    finally:
        for cust in customers:
            await cust.close()
        await first.close()
        await second.close()
