"""The console's shell: signing in and out, the session in sessionStorage, presence and load."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.browser.console import new_agent, set_status, sign_in
from tests.support import RunningServer, agent, agent_token

pytestmark = pytest.mark.usefixtures("console_bundle")


async def test_sign_in_presence_load_and_sign_out(server: RunningServer, visitor) -> None:
    _, email = await new_agent(server, "Robin", max_chats=4)
    page = await visitor.new_page()
    await page.goto(f"{server.url}/console/")

    # A wrong password says so, in the form.
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill("wrong password")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_have_text("invalid email or password")

    await sign_in(page, server, email)
    await expect(page.locator(".whoami")).to_contain_text("Robin")
    await expect(page.get_by_test_id("load")).to_have_text("0 / 4 chats")
    await expect(page.locator(".presence.online")).to_be_visible()
    # Agents see no admin pages.
    await expect(page.get_by_test_id("admin-tab")).to_have_count(0)
    token = await page.evaluate("sessionStorage.getItem('parley-console:token')")
    assert token and token.startswith("p1.")
    # An admin address typed by hand shows the agent's inbox, and the API refuses them anyway.
    await page.goto(f"{server.url}/console/#/admin/agents")
    await expect(page.locator(".whoami")).to_contain_text("Robin")
    await expect(page.locator(".admin-nav")).to_have_count(0)
    status, code = await page.evaluate(
        """async (token) => {
             const r = await fetch('/api/v1/admin/agents', {headers: {Authorization: 'Bearer ' + token}});
             return [r.status, (await r.json()).error.code];
           }""",
        token,
    )
    assert (status, code) == (403, "forbidden")

    # Presence: away is what colleagues see too.
    _, colleague_token = await agent_token(server, name="Kim")
    kim = await agent(server.url, colleague_token)
    try:
        await set_status(page, "away")
        await kim.log.wait_for("presence", lambda p: p["status"] == "away")
        await set_status(page, "online")
        await kim.log.wait_for("presence", lambda p: p["status"] == "online")
    finally:
        await kim.close()

    # A reload keeps the session (sessionStorage); signing out forgets it.
    await page.reload()
    await expect(page.locator(".whoami")).to_contain_text("Robin")
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    assert await page.evaluate("sessionStorage.getItem('parley-console:token')") is None
