"""The admin pages: an admin writes a quick response that an agent then uses; agents, teams,
widget settings, reports, the knowledge base and the audit log in a real browser."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from playwright.async_api import expect

from server.core.models import AgentRole
from tests.browser.console import console_agent
from tests.e2e.routing_support import waiting_customer
from tests.support import RunningServer

pytestmark = pytest.mark.usefixtures("console_bundle")


async def test_an_admin_writes_a_quick_response_an_agent_uses(
    server: RunningServer, chromium, artifacts
) -> None:
    admin_ctx = await chromium.new_context(viewport={"width": 1280, "height": 800})
    agent_ctx = await chromium.new_context(viewport={"width": 1280, "height": 800})
    cust = None
    try:
        # In no team: customers go to Sam.
        ada, _ = await console_agent(admin_ctx, server, "Ada Admin", role=AgentRole.ADMIN, teams=())
        await ada.get_by_test_id("admin-tab").click()
        await expect(ada.get_by_role("heading", name="Quick responses")).to_be_visible()
        await ada.get_by_role("button", name="New quick response").click()
        dialog = ada.get_by_role("dialog")
        await dialog.get_by_label("Shortcut").fill("/Refund")
        await dialog.get_by_label("Title").fill("Refund timing")
        await dialog.get_by_label("Text").fill(
            "Hello {{customer.name}}, refunds reach your card within 5 days. — {{agent.name}}"
        )
        await dialog.get_by_role("button", name="Save").click()
        row = ada.locator("tr[data-shortcut=refund]")
        await expect(row).to_contain_text("Refund timing")
        await expect(row).to_contain_text("Everyone")

        # The same shortcut again in the same scope: the server's clear 409, in the form.
        await ada.get_by_role("button", name="New quick response").click()
        await dialog.get_by_label("Shortcut").fill("refund")
        await dialog.get_by_label("Title").fill("Again")
        await dialog.get_by_label("Text").fill("x")
        await dialog.get_by_role("button", name="Save").click()
        await expect(dialog.get_by_role("alert")).to_contain_text(
            "the shortcut /refund is already used"
        )
        await dialog.get_by_role("button", name="Cancel").click()
        await ada.screenshot(path=str(artifacts / "console-admin-quick-responses.png"))

        # An agent, signed in afterwards, uses it on a customer's conversation.
        sam, _ = await console_agent(agent_ctx, server, "Sam")
        await expect(sam.get_by_test_id("admin-tab")).to_have_count(0)
        await sam.goto(f"{server.url}/console/#/admin/agents")
        await expect(sam.get_by_role("heading", name="My conversations")).to_be_visible()
        cust, conv = await waiting_customer(server, name="Casey")
        await sam.locator(f".conv-item[data-conversation='{conv}']").click()
        composer = sam.locator("textarea[aria-label=Reply]")
        await composer.press_sequentially("/ref")
        await expect(sam.get_by_test_id("quick-picker")).to_contain_text("Refund timing")
        await sam.get_by_test_id("quick-picker").get_by_role("option").first.click()
        await expect(composer).to_have_value(
            "Hello Casey, refunds reach your card within 5 days. — Sam"
        )
        await composer.press("Enter")
        message = await cust.log.wait_for("message", lambda m: m["sender_kind"] == "agent")
        assert message[0]["body"] == "Hello Casey, refunds reach your card within 5 days. — Sam"

        # Agents keep personal quick responses themselves; the admin's are theirs to use only.
        await sam.locator("a.tab", has_text="Quick responses").click()
        await expect(sam.locator("tr[data-shortcut=refund]")).to_contain_text("set by an admin")
        await sam.get_by_role("button", name="New quick response").click()
        dialog = sam.get_by_role("dialog")
        await expect(dialog.get_by_label("Available to")).to_be_hidden()
        await dialog.get_by_label("Shortcut").fill("sig")
        await dialog.get_by_label("Title").fill("My signature")
        await dialog.get_by_label("Text").fill("Best, {{agent.first_name}}")
        await dialog.get_by_role("button", name="Save").click()
        await expect(sam.locator("tr[data-shortcut=sig]")).to_contain_text("Personal")
        await sam.go_back()
        await expect(composer).to_be_visible()
        await composer.press_sequentially("/sig")
        await composer.press("Enter")
        await expect(composer).to_have_value("Best, Sam")

        # The audit log shows who did it.
        await ada.locator(".admin-nav a", has_text="Audit log").click()
        rows = ada.locator("tbody tr")
        await expect(rows).to_have_count(2)
        await expect(rows.nth(0)).to_contain_text("Sam")  # newest first: Sam's personal one
        await expect(rows.nth(1)).to_contain_text("Ada Admin")
        await expect(rows.nth(1)).to_contain_text("quick_response.create")
    finally:
        if cust:
            await cust.close()
        await admin_ctx.close()
        await agent_ctx.close()


async def test_admin_pages_agents_teams_widget_reports(
    server: RunningServer, chromium, artifacts
) -> None:
    ctx = await chromium.new_context(viewport={"width": 1280, "height": 800})
    cust = None
    try:
        ada, _ = await console_agent(ctx, server, "Ada Admin", role=AgentRole.ADMIN)
        cust, conv = await waiting_customer(server, name="Casey")
        await cust.ok("send_message", {"conversation_id": conv, "client_id": "c1", "body": "Hi"})
        await ada.goto(f"{server.url}/console/#/admin/agents")

        # Invite an agent: the generated password is shown once.
        await ada.get_by_role("button", name="Add agent").click()
        dialog = ada.get_by_role("dialog")
        await dialog.get_by_label("Email").fill("kim@example.test")
        await dialog.get_by_label("Name").fill("Kim")
        await dialog.get_by_label("Chats at once").fill("3")
        await dialog.get_by_role("button", name="Add agent").click()
        await expect(ada.get_by_test_id("invited")).to_contain_text(
            "kim@example.test can sign in now"
        )
        row = ada.locator("tr[data-agent='kim@example.test']")
        await expect(row).to_contain_text("0 / 3")
        await expect(row).to_contain_text("Support")
        await ada.screenshot(path=str(artifacts / "console-admin-agents.png"))
        await row.get_by_role("button", name="Edit").click()
        await dialog.get_by_label("Active (can sign in and take chats)").uncheck()
        await dialog.get_by_role("button", name="Save").click()
        await expect(row).to_contain_text("deactivated")

        # Routing: a value the server refuses is shown in its words; a good one is saved.
        await ada.locator(".admin-nav a", has_text="Teams & routing").click()
        team = ada.locator("form[data-team=support]")
        await team.get_by_label("Assignment").select_option("manual")
        await team.get_by_label("Grace period, seconds").fill("100000")
        await team.get_by_role("button", name="Save Support").click()
        await expect(team.get_by_role("alert")).to_contain_text(
            "grace_seconds must be between 0 and 86400"
        )
        await team.get_by_label("Grace period, seconds").fill("45")
        await team.get_by_role("button", name="Save Support").click()
        await expect(team.get_by_role("status")).to_have_text("Saved.")
        await ada.screenshot(path=str(artifacts / "console-admin-teams.png"))

        # Widget settings: the preview follows the form; saving reaches the public settings.
        await ada.locator(".admin-nav a", has_text="Widget").click()
        await ada.locator("input[name=color]").fill("#aa3300")
        await ada.locator("input[name=greeting]").fill("Welcome to <b>Acme</b>!")
        await ada.get_by_label("Position").select_option("left")
        preview = ada.get_by_test_id("widget-preview")
        await expect(preview.locator(".wp-bubble")).to_have_text("Welcome to <b>Acme</b>!")
        assert (
            await preview.locator(".wp-launcher").evaluate(
                "e => getComputedStyle(e).backgroundColor"
            )
            == "rgb(170, 51, 0)"
        )
        await expect(ada.get_by_test_id("snippet")).to_have_text(
            f'<script src="{server.url}/widget.js" async></script>'
        )
        await ada.get_by_role("button", name="Save widget settings").click()
        await expect(ada.get_by_role("status").filter(has_text="Saved")).to_be_visible()
        settings = await ada.evaluate("fetch('/api/v1/widget/settings').then(r => r.json())")
        assert (settings["data"]["color"], settings["data"]["position"]) == ("#aa3300", "left")
        await ada.screenshot(path=str(artifacts / "console-admin-widget.png"))

        # Reports: figures, charts and the table.
        await ada.locator(".admin-nav a", has_text="Reports").click()
        await expect(ada.get_by_test_id("kpis")).to_contain_text("Conversations")
        await expect(ada.get_by_test_id("report-table").locator("tbody tr")).to_have_count(1)
        await expect(ada.get_by_test_id("report-table")).to_contain_text("Support")
        assert await ada.locator("svg.chart rect:not(.hover-band)").count() == 28
        async with ada.expect_download() as download:
            await ada.get_by_role("button", name="Export CSV").click()
        path = await (await download.value).path()
        assert (await asyncio.to_thread(Path(path).read_text)).startswith("day,team,conversations")
        await ada.screenshot(path=str(artifacts / "console-admin-reports.png"), full_page=True)

        # Knowledge base: write an article, then ask the assistant about it.
        await ada.locator(".admin-nav a", has_text="Knowledge base").click()
        await ada.get_by_role("button", name="New article").click()
        dialog = ada.get_by_role("dialog")
        await dialog.get_by_label("Text (Markdown)").fill(
            "# Refunds\n\nRefunds take five business days to reach your card after we receive the item."
        )
        await dialog.get_by_role("button", name="Save").click()
        await expect(ada.locator("tr[data-slug=refunds]")).to_contain_text(
            "indexed", timeout=30_000
        )
        await expect(ada.locator(".kpi").first).to_contain_text("1Articles")
        await ada.get_by_role("textbox", name="Question").fill("How long do refunds take?")
        await ada.get_by_role("button", name="Ask the assistant").click()
        await expect(ada.get_by_test_id("answer")).to_contain_text(
            "five business days", timeout=30_000
        )
        # The decline score and the threshold it was compared with (one article: too few
        # chunks for a z-score, so the neutral specificity).
        await expect(ada.get_by_test_id("answer")).to_contain_text(
            "specificity 3.0; threshold 0.5, default"
        )
        await ada.screenshot(path=str(artifacts / "console-admin-knowledge.png"))
        # A claim no passage speaks of: it would hand over, and says why.
        await ada.get_by_role("textbox", name="Question").fill("Have you had a security audit?")
        await ada.get_by_role("button", name="Ask the assistant").click()
        await expect(ada.get_by_test_id("answer")).to_contain_text(
            "asks about a certification, an audit or encryption that no passage found mentions"
        )
        await expect(ada.get_by_test_id("answer")).to_contain_text("It would hand over")

        await ada.locator(".admin-nav a", has_text="Audit log").click()
        # Created, deactivated, routing saved (the refused attempt changed nothing), widget
        # saved, article written.
        await expect(ada.locator("tbody tr")).to_have_count(5)
        await expect(ada.locator("tbody tr").first).to_contain_text("knowledge.create")
        await ada.screenshot(path=str(artifacts / "console-admin-audit.png"))
    finally:
        if cust:
            await cust.close()
        await ctx.close()
