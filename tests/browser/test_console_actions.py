"""Acting on conversations from the console: transfer, unassign, resolve and reopen (with the
keyboard), scrolling back through history, and resuming after the network comes back."""

from __future__ import annotations

import uuid

import asyncpg
import pytest
from playwright.async_api import expect

from tests.browser.console import console_agent
from tests.e2e.routing_support import add_team, assignee, eventually, waiting_customer
from tests.support import RunningServer

pytestmark = pytest.mark.usefixtures("console_bundle")


async def test_transfer_resolve_reopen_and_unassign(server: RunningServer, chromium) -> None:
    await add_team(server, "billing", "Billing")
    first = await chromium.new_context(viewport={"width": 1280, "height": 800})
    second = await chromium.new_context(viewport={"width": 1024, "height": 768})  # a tablet
    cust = None
    try:
        robin, robin_id = await console_agent(first, server, "Robin", max_chats=1)
        cust, conv = await waiting_customer(server, name="Casey")
        await eventually(lambda: _is(server, conv, robin_id))
        kim, kim_id = await console_agent(second, server, "Kim")

        item = robin.locator(f".conv-item[data-conversation='{conv}']")
        await item.click()
        await robin.get_by_role("button", name="Transfer").click()
        dialog = robin.get_by_role("dialog")
        await dialog.get_by_label("To").select_option(f"agent:{kim_id}")
        await dialog.get_by_label("Note for the next agent").fill("Wants a refund")
        await dialog.get_by_role("button", name="Transfer").click()
        await expect(robin.locator(".notice")).to_have_text("This conversation was transferred.")
        await expect(item).to_have_count(0)
        await expect(robin.get_by_test_id("load")).to_have_text("0 / 1 chats")

        # Kim gets it, with the transfer note (private) in the history.
        kim_item = kim.locator(f".conv-item[data-conversation='{conv}']")
        await expect(kim_item).to_contain_text("Casey")
        await kim_item.click()
        await expect(kim.locator(".msg.system.note .bubble")).to_contain_text(
            "Robin transferred this conversation to Kim. Note: Wants a refund"
        )
        assert await assignee(server, conv) == kim_id

        # Alt+R resolves, and again reopens (it is routed again: Robin has room now).
        await kim.locator(".thread").click()
        await kim.keyboard.press("Alt+KeyR")
        await expect(kim.get_by_test_id("status")).to_have_text("resolved")
        await cust.log.wait_for("conversation_updated", lambda u: u["reason"] == "resolved")
        await expect(kim.get_by_role("button", name="Reopen")).to_be_visible()
        await kim.keyboard.press("Alt+KeyR")
        await expect(kim.get_by_test_id("status")).to_have_text("open")
        await eventually(lambda: _is(server, conv, robin_id, kim_id))
        owner = robin if await assignee(server, conv) == robin_id else kim

        # The owner sends it to another team, then that team's line has it.
        owner_item = owner.locator(f".conv-item[data-conversation='{conv}']")
        await owner_item.click()
        await owner.keyboard.press("Alt+KeyT")
        dialog = owner.get_by_role("dialog")
        await dialog.get_by_label("To").select_option(label="Billing")
        await dialog.get_by_role("button", name="Transfer").click()
        await expect(owner_item).to_have_count(0)

        await eventually(lambda: _waits_in(server, conv, "billing"))
    finally:
        if cust:
            await cust.close()
        await first.close()
        await second.close()


async def _waits_in(server: RunningServer, conv: str, team: str) -> bool:
    conn = await asyncpg.connect(server.settings.database_url)
    try:
        return bool(
            await conn.fetchval(
                "SELECT c.waiting FROM conversations c JOIN teams t ON t.id = c.team_id WHERE c.id = $1 AND t.slug = $2",
                uuid.UUID(conv),
                team,
            )
        )
    finally:
        await conn.close()


async def _is(server: RunningServer, conv: str, *agent_ids: object) -> bool:
    return await assignee(server, conv) in agent_ids


async def test_unassign_sends_it_back_to_the_queue(server: RunningServer, visitor) -> None:
    robin, _ = await console_agent(visitor, server, "Robin")
    cust, conv = await waiting_customer(server, name="Casey")
    try:
        item = robin.locator(f".conv-item[data-conversation='{conv}']")
        await item.click()
        # Away first, so the unassigned conversation is not assigned straight back.
        await robin.get_by_test_id("presence").select_option("away")
        await expect(robin.locator(".presence.away")).to_be_visible()
        await robin.get_by_role("button", name="Unassign").click()
        await expect(item).to_have_count(0)
        await robin.locator("a.tab", has_text="Queue").click()
        await expect(robin.locator(f".queue-entry[data-conversation='{conv}']")).to_contain_text(
            "Casey"
        )
        assert await assignee(server, conv) is None
    finally:
        await cust.close()


async def test_history_pages_back_and_a_reconnect_replays_what_was_missed(
    server: RunningServer, visitor
) -> None:
    cust, conv = await waiting_customer(server, name="Casey")
    for i in range(1, 76):
        await cust.ok(
            "send_message", {"conversation_id": conv, "client_id": f"c{i}", "body": f"message {i}"}
        )
    robin, _ = await console_agent(visitor, server, "Robin")
    try:
        item = robin.locator(f".conv-item[data-conversation='{conv}']")
        await expect(item.get_by_test_id("unread")).to_have_text("75")
        await item.click()
        bubbles = robin.locator(".log .msg .bubble")
        await expect(bubbles.last).to_have_text("message 75")
        await expect(bubbles).to_have_count(50)
        await robin.get_by_role("button", name="Load earlier messages").click()
        await expect(bubbles).to_have_count(75)
        await expect(bubbles.first).to_have_text("message 1")

        # The agent's network drops; the customer keeps writing; everything arrives, in order, once.
        await visitor.set_offline(True)
        await expect(robin.locator(".conn")).to_contain_text("Offline")
        for i in range(76, 79):
            await cust.ok(
                "send_message",
                {"conversation_id": conv, "client_id": f"c{i}", "body": f"message {i}"},
            )
        await visitor.set_offline(False)
        await expect(robin.locator(".conn")).to_have_count(0)
        await expect(bubbles).to_have_count(78)
        seqs = [
            int(s)
            for s in await robin.locator(".log .msg").evaluate_all(
                "els => els.map(e => e.dataset.seq)"
            )
        ]
        assert seqs == list(range(1, 79))
        await expect(bubbles.last).to_have_text("message 78")
    finally:
        await cust.close()


async def test_priority_and_reopening_from_the_resolved_list(
    server: RunningServer, visitor
) -> None:
    robin, _ = await console_agent(visitor, server, "Robin")
    cust, conv = await waiting_customer(server, name="Casey")
    try:
        item = robin.locator(f".conv-item[data-conversation='{conv}']")
        await item.click()
        await robin.get_by_label("Priority").select_option("urgent")
        await eventually(lambda: _priority(server, conv, 0))
        await robin.get_by_role("button", name="Resolve").click()
        await expect(robin.get_by_test_id("status")).to_have_text("resolved")
        # Once it is off screen, the resolved one leaves the open list...
        await robin.locator("a.tab", has_text="My conversations").click()
        await expect(item).to_have_count(0)
        # ...and is found under Resolved, where it can be reopened.
        await robin.get_by_role("tab", name="Resolved").click()
        await item.click()
        await robin.get_by_role("button", name="Reopen").click()
        await expect(robin.get_by_test_id("status")).to_have_text("open")
        await robin.get_by_role("tab", name="Open 1").click()
        await expect(item).to_be_visible()
    finally:
        await cust.close()


async def _priority(server: RunningServer, conv: str, value: int) -> bool:
    conn = await asyncpg.connect(server.settings.database_url)
    try:
        return (
            await conn.fetchval("SELECT priority FROM conversations WHERE id = $1", uuid.UUID(conv))
            == value
        )
    finally:
        await conn.close()
