"""The console's "Sign in with Supabase": supabase-js (its own bundle) signs in against a local
server speaking Supabase Auth, then the console exchanges the session for a Parley token."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from playwright.async_api import expect

from tests.browser.console import new_agent
from tests.fake_supabase_auth import FakeSupabaseAuth, SigningKey
from tests.support import Servers

pytestmark = pytest.mark.usefixtures("console_bundle")


@pytest_asyncio.fixture
async def supabase() -> AsyncIterator[FakeSupabaseAuth]:
    fake = await FakeSupabaseAuth().start()
    fake.published = [SigningKey("ES256")]
    yield fake
    await fake.stop()


async def test_an_agent_signs_in_with_supabase(
    servers: Servers, chromium, supabase: FakeSupabaseAuth
) -> None:
    server = await servers.start(
        agent_sign_in="both", supabase_url=supabase.url, supabase_anon_key="anon-key-for-tests"
    )
    _, email = await new_agent(server, "Robin Agent")
    supabase.passwords[email] = "supabase password"
    context = await chromium.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(10_000)
    try:
        page = await context.new_page()
        await page.goto(f"{server.url}/console/")
        await page.get_by_label("Email").fill(email)
        await page.get_by_label("Password").fill("wrong password")
        await page.get_by_role("button", name="Sign in with Supabase").click()
        await expect(page.get_by_role("alert")).to_contain_text("Invalid login credentials")
        assert await page.evaluate("sessionStorage.getItem('parley-console:token')") is None

        await page.get_by_label("Password").fill("supabase password")
        await page.get_by_role("button", name="Sign in with Supabase").click()
        await expect(page.locator(".topbar")).to_be_visible()
        await expect(page.locator("[data-testid=load]")).to_be_visible()
        token = await page.evaluate("sessionStorage.getItem('parley-console:token')")
        assert token and token.startswith("p1.")  # Parley's own token, not Supabase's
        assert supabase.requests == 1  # the server fetched the project's keys to verify it
    finally:
        await context.close()


async def test_without_supabase_the_console_offers_passwords_only(
    servers: Servers, chromium
) -> None:
    server = await servers.start()
    context = await chromium.new_context()
    try:
        page = await context.new_page()
        async with page.expect_response("**/api/v1/auth/methods") as answered:
            await page.goto(f"{server.url}/console/")
        assert (await (await answered.value).json())["data"] == {"password": True, "supabase": None}
        await expect(page.get_by_role("button", name="Sign in", exact=True)).to_be_visible()
        await expect(page.get_by_role("button", name="Sign in with Supabase")).to_have_count(0)
        scripts = await page.evaluate("[...document.scripts].map(s => s.src)")
        assert not any("supabase." in s for s in scripts)  # supabase-js is not even loaded
    finally:
        await context.close()
