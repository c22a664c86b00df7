"""Accounts in the console: an agent changes their password (other tabs are signed out), an
admin hands out a reset link that the console's reset page uses, and lifts a lockout."""

from __future__ import annotations

import aiohttp
import pytest
from playwright.async_api import expect

from server.core.models import AgentRole
from tests.browser.console import new_agent, sign_in
from tests.support import PASSWORD, RunningServer

pytestmark = pytest.mark.usefixtures("console_bundle")

NEW_PASSWORD = "a brand new passphrase"


async def _login_status(server: RunningServer, email: str, password: str) -> int:
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{server.url}/api/v1/auth/login", json={"email": email, "password": password}
        ) as r,
    ):
        return r.status


async def test_an_agent_changes_their_password_and_other_tabs_sign_out(
    server: RunningServer, chromium
) -> None:
    _, email = await new_agent(server, "Sam")
    first_ctx = await chromium.new_context(viewport={"width": 1280, "height": 800})
    other_ctx = await chromium.new_context(viewport={"width": 1280, "height": 800})
    try:
        tab = await first_ctx.new_page()
        other = await other_ctx.new_page()
        await sign_in(tab, server, email)
        await sign_in(other, server, email)
        await tab.get_by_test_id("change-password").click()
        dialog = tab.get_by_role("dialog")
        await dialog.get_by_label("Current password").fill("not it at all")
        await dialog.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
        await dialog.get_by_label("New password again").fill(NEW_PASSWORD)
        await dialog.get_by_role("button", name="Change password").click()
        await expect(dialog.get_by_role("alert")).to_contain_text("current password is not right")
        await dialog.get_by_label("Current password").fill(PASSWORD)
        await dialog.get_by_label("New password", exact=True).fill("password123")
        await dialog.get_by_label("New password again").fill("password123")
        await dialog.get_by_role("button", name="Change password").click()
        await expect(dialog.get_by_role("alert")).to_contain_text("too easy to guess")
        await dialog.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
        await dialog.get_by_label("New password again").fill(NEW_PASSWORD)
        await dialog.get_by_role("button", name="Change password").click()
        await expect(tab.get_by_role("status").filter(has_text="Password changed")).to_be_visible()
        await expect(dialog).to_have_count(0)
        # This tab carries on with its new token; the other one was signed out.
        await expect(other.get_by_role("heading", name="Sign in to the console")).to_be_visible()
        await expect(other.get_by_role("alert")).to_contain_text("Your password was changed")
        await tab.get_by_test_id("presence").select_option("online")
        await expect(tab.locator(".presence.online")).to_be_visible()
        await sign_in(other, server, email, NEW_PASSWORD)
    finally:
        await first_ctx.close()
        await other_ctx.close()


async def test_an_admin_resets_a_password_with_a_link_and_unlocks_an_account(
    server: RunningServer, chromium
) -> None:
    _, admin_email = await new_agent(server, "Ada", role=AgentRole.ADMIN)
    _, email = await new_agent(server, "Robin")
    ctx = await chromium.new_context(viewport={"width": 1280, "height": 800})
    try:
        admin = await ctx.new_page()
        await sign_in(admin, server, admin_email)
        await admin.goto(f"{server.url}/console/#/admin/agents")
        row = admin.locator(f"tr[data-agent='{email}']")
        await row.get_by_role("button", name="Reset password").click()
        link = admin.get_by_test_id("reset-link")
        await expect(link).to_contain_text(email)
        url = (await link.locator("code").inner_text()).strip()
        assert url.startswith(f"{server.url}/console/#/reset-password?token=")

        robin = await ctx.new_page()
        await robin.goto(url)
        await robin.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
        await robin.get_by_label("New password again").fill(NEW_PASSWORD)
        await robin.get_by_role("button", name="Set password").click()
        await expect(robin.get_by_test_id("reset-done")).to_contain_text(email)
        assert await _login_status(server, email, NEW_PASSWORD) == 200
        # The link was spent.
        await robin.goto(url)
        await robin.reload()
        await robin.get_by_label("New password", exact=True).fill("yet another passphrase")
        await robin.get_by_label("New password again").fill("yet another passphrase")
        await robin.get_by_role("button", name="Set password").click()
        await expect(robin.get_by_role("alert")).to_contain_text("not valid")

        for _ in range(server.settings.login_max_failures_per_account):
            assert await _login_status(server, email, "wrong") == 401
        assert await _login_status(server, email, NEW_PASSWORD) == 429
        await row.get_by_role("button", name="Unlock").click()
        await expect(
            admin.get_by_role("status").filter(has_text="can sign in again")
        ).to_be_visible()
        assert await _login_status(server, email, NEW_PASSWORD) == 200
    finally:
        await ctx.close()
