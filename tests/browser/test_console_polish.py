"""What agents tripped over in the console: the hand-over brief, quick responses, error texts
and small screens."""

from __future__ import annotations

from datetime import datetime

import aiohttp
import pytest
from playwright.async_api import expect

from server.core.models import AgentRole
from tests.browser.console import answered_by_the_assistant, console_agent, set_status
from tests.browser.test_assistant import assistant_site
from tests.e2e.assistant_support import PASSWORD_QUESTION
from tests.e2e.routing_support import assignee, eventually, online_agent, waiting_customer
from tests.support import RunningServer, Servers, agent_token

pytestmark = pytest.mark.usefixtures("console_bundle")


async def test_the_brief_is_compact_said_once_and_folds_once_answered(
    servers: Servers, visitor, artifacts
) -> None:
    server = await assistant_site(servers)  # no model: extractive answers and brief
    robin, _ = await console_agent(visitor, server, "Robin")
    cust, conv = await answered_by_the_assistant(robin, server)
    try:
        await set_status(robin, "online")
        item = robin.locator(f".conv-item[data-conversation='{conv}']")
        # The inbox shows what the customer wrote last, not Parley's note about the hand-over.
        await expect(item.locator(".preview")).to_have_text(PASSWORD_QUESTION[:200])
        await item.click()
        brief = robin.get_by_test_id("handover")
        summary = brief.locator(".handover-summary")
        await expect(summary).to_contain_text("reset my password")
        box = await brief.bounding_box()
        assert box is not None and box["height"] <= 200, box  # the thread keeps the room
        # The thread marks the hand-over once, without repeating the brief.
        note = robin.locator(".msg[data-kind=system]")
        await expect(note).to_have_count(1)
        await expect(note).not_to_contain_text("reset my password")
        await robin.screenshot(
            path=str(artifacts / "console-brief-desktop.png"), animations="disabled"
        )

        # Read means answered: the agent's reply folds it, and it stays folded after a reload.
        await robin.get_by_label("Reply", exact=True).fill("Happy to help with that.")
        await robin.get_by_label("Reply", exact=True).press("Enter")
        await expect(robin.locator(".msg[data-kind=agent]")).to_have_count(1)
        await expect(summary).to_be_hidden()
        await expect(brief.locator("summary")).to_contain_text(
            "reset my password"
        )  # a one-line peek
        await robin.reload()
        await robin.locator(f".conv-item[data-conversation='{conv}']").click()
        await expect(robin.locator(".msg[data-kind=agent]")).to_have_count(1)
        await expect(robin.get_by_test_id("handover")).to_be_visible()
        await expect(robin.get_by_test_id("handover").locator(".handover-summary")).to_be_hidden()
        # The preview now is the agent's own reply.
        await expect(
            robin.locator(f".conv-item[data-conversation='{conv}'] .preview")
        ).to_have_text("You: Happy to help with that.")
    finally:
        await cust.close()


async def test_quick_responses_added_elsewhere_appear_and_a_fresh_install_explains_them(
    server: RunningServer, visitor
) -> None:
    sam, _ = await console_agent(visitor, server, "Sam")
    cust, conv = await waiting_customer(server, name="Casey")
    try:
        await sam.locator(f".conv-item[data-conversation='{conv}']").click()
        composer = sam.locator("textarea[aria-label=Reply]")
        await composer.press_sequentially("/")
        picker = sam.get_by_test_id("quick-picker")
        await expect(picker.get_by_test_id("quick-empty")).to_contain_text("No quick responses yet")
        await expect(picker).not_to_contain_text("matches")
        await composer.press("Escape")
        await composer.fill("")

        # An admin adds one in their own console while Sam's stays open.
        _, token = await agent_token(server, role=AgentRole.ADMIN, name="Ada Admin", teams=())
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as http:
            async with http.post(f"{server.url}/api/v1/quick-responses", json={
                "shortcut": "refund", "title": "Refund timing", "body": "Refunds take 5 days.", "scope": "global",
            }) as response:  # fmt: skip
                assert response.status == 201, await response.text()
        await composer.press_sequentially("/ref")
        await expect(picker.get_by_role("option")).to_have_count(1)
        await expect(picker.get_by_role("option")).to_contain_text("Refund timing")
        await composer.press("Enter")
        await expect(composer).to_have_value("Refunds take 5 days.")
    finally:
        await cust.close()


async def test_errors_read_as_sentences_with_the_code_for_support(
    servers: Servers, visitor
) -> None:
    server = await servers.start(attachment_max_bytes=1024 * 1024)
    sam, _ = await console_agent(visitor, server, "Sam")
    cust, conv = await waiting_customer(server, name="Casey")
    try:
        await sam.locator(f".conv-item[data-conversation='{conv}']").click()
        await sam.get_by_test_id("file-input").set_input_files(
            [
                {
                    "name": "big.pdf",
                    "mimeType": "application/pdf",
                    "buffer": b"%PDF" + b"x" * (1024 * 1024 + 10),
                }
            ]
        )
        alert = sam.get_by_role("alert")
        await expect(alert.locator("span")).to_have_text(
            "big.pdf: Files can be up to 1 MB. (code: too_large)"
        )
        await expect(alert).not_to_contain_text("bytes")
    finally:
        await cust.close()


async def test_admin_pages_give_dates_names_counts_and_chart_tooltips(
    server: RunningServer, chromium, artifacts
) -> None:
    ctx = await chromium.new_context(viewport={"width": 1280, "height": 800})
    _, _, sam = await online_agent(server, "Sam")  # Support's only member
    cust, conv = await waiting_customer(server, name="Casey")
    try:
        assert await eventually(lambda: assignee(server, conv))  # a wait to report
        ada, _ = await console_agent(ctx, server, "Ada Admin", role=AgentRole.ADMIN, teams=())
        _, token = await agent_token(server, role=AgentRole.ADMIN, name="Bo Admin", teams=())
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as http:
            async with http.post(f"{server.url}/api/v1/quick-responses", json={
                "shortcut": "refund", "title": "Refund timing", "body": "Refunds take 5 days.", "scope": "global",
            }) as response:  # fmt: skip
                assert response.status == 201
        await ada.get_by_test_id("admin-tab").click()

        await ada.locator(".admin-nav a", has_text="Audit log").click()
        row = ada.locator("tbody tr").first
        await expect(row).to_contain_text("quick_response.create")
        await expect(row.locator("td").nth(3)).to_have_text("quick_response Refund timing")
        year = str(datetime.now().year)
        await expect(row.locator("td").first).to_contain_text(year)

        await ada.locator(".admin-nav a", has_text="Teams & routing").click()
        await expect(ada.locator("main, .admin-content").first).to_contain_text("1 member ·")

        await ada.locator(".admin-nav a", has_text="Reports").click()
        charts = ada.locator("svg.chart")
        await expect(charts).to_have_count(2)
        for index in range(2):
            # Every axis label lies inside its chart: none is cut at the left edge.
            assert await charts.nth(index).evaluate(
                "svg => [...svg.querySelectorAll('text')].every(t => t.getBBox().x >= 0)"
            )
        await charts.nth(1).locator(".hover-band").last.hover()
        await expect(ada.get_by_test_id("chart-tip")).to_contain_text("average wait")
        await ada.mouse.move(0, 0)
        await expect(ada.get_by_test_id("chart-tip")).to_have_count(0)
        await charts.nth(0).locator(".hover-band").last.focus()
        await expect(ada.get_by_test_id("chart-tip")).to_contain_text("1 started")
        await ada.screenshot(path=str(artifacts / "console-admin-reports-tooltip.png"))
    finally:
        await cust.close()
        await sam.close()
        await ctx.close()
