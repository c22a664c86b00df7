"""The assistant as agents see it in the console: a waiting conversation opened from the queue
shows the answer being written, then the one final message."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from playwright.async_api import expect

from tests.browser.conftest import Servers
from tests.browser.console import console_agent, set_status
from tests.browser.test_assistant import assistant_site
from tests.e2e.assistant_support import PASSWORD_QUESTION
from tests.e2e.routing_support import waiting_customer
from tests.fake_openai import FakeOpenAI, Reply

pytestmark = pytest.mark.usefixtures("console_bundle")


@pytest_asyncio.fixture
async def fake_openai() -> AsyncIterator[FakeOpenAI]:
    fake = await FakeOpenAI().start()
    yield fake
    await fake.stop()


async def test_an_agent_watches_the_assistant_answer_a_waiting_customer(servers: Servers, visitor, fake_openai: FakeOpenAI) -> None:
    final = "Click Forgot password? on the sign-in page, then follow the link in the email we send you [1]."
    fake_openai.default = Reply(final, piece=4, piece_delay=0.3)  # about 7 s in all
    server = await assistant_site(
        servers, openai_api_key="test-key", openai_base_url=fake_openai.base_url,
        assistant_timeout_seconds=5.0, assistant_retries=0,
    )  # fmt: skip
    robin, _ = await console_agent(visitor, server, "Robin")
    await set_status(robin, "away")  # nobody can answer: the assistant does
    await robin.locator("a.tab", has_text="Queue").click()
    cust, conv = await waiting_customer(server, name="Casey")
    try:
        await cust.ok("send_message", {"conversation_id": conv, "client_id": "c1", "body": PASSWORD_QUESTION})
        row = robin.locator(f".queue-entry[data-conversation='{conv}']")
        await row.get_by_role("link", name="View").click()
        stream = robin.get_by_test_id("assistant-stream")
        await expect(stream.locator(".bubble")).to_have_text(re.compile(r"\S"))
        first = await stream.locator(".bubble").inner_text()
        # Joined mid-answer: the pieces written since then (deltas are not replayed).
        assert first in final and len(first) < len(final)
        answer = robin.locator(".msg[data-kind=assistant] .bubble").filter(has_text="Forgot password")
        await expect(answer).to_have_text(final, timeout=15_000)
        await expect(stream).to_have_count(0)
        # Viewing did not take it: it still waits for a person.
        await expect(robin.get_by_test_id("status")).to_have_text("open")
        await expect(robin.locator(".thread-head")).to_contain_text("unassigned")
    finally:
        await cust.close()
