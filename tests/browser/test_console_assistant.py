"""The assistant as agents see it in the console: a waiting conversation opened from the queue
shows the answer being written, then the one final message; a conversation handed over shows
the assistant's brief above the thread."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from tests.browser.console import answered_by_the_assistant, console_agent, set_status
from tests.browser.test_assistant import assistant_site
from tests.e2e.assistant_support import PASSWORD_QUESTION
from tests.e2e.routing_support import waiting_customer
from tests.fake_openai import FakeOpenAI, Reply
from tests.support import Servers

pytestmark = pytest.mark.usefixtures("console_bundle")


async def test_an_agent_watches_the_assistant_answer_a_waiting_customer(
    servers: Servers, visitor, fake_openai: FakeOpenAI
) -> None:
    # Checked text streams a sentence at a time: the first (cited) sentence shows while the
    # second is still being written.
    final = (
        "Click Forgot password? on the sign-in page [1]. Then follow the link in the email we "
        "send you, which can take a minute or two to arrive [1]."
    )
    fake_openai.default = Reply(final, piece=4, piece_delay=0.15)  # about 5 s in all
    server = await assistant_site(
        servers, openai_api_key="test-key", openai_base_url=fake_openai.base_url,
        assistant_timeout_seconds=5.0, assistant_retries=0,
    )  # fmt: skip
    robin, _ = await console_agent(visitor, server, "Robin")
    await set_status(robin, "away")  # nobody can answer: the assistant does
    await robin.locator("a.tab", has_text="Queue").click()
    cust, conv = await waiting_customer(server, name="Casey")
    try:
        await cust.ok(
            "send_message", {"conversation_id": conv, "client_id": "c1", "body": PASSWORD_QUESTION}
        )
        row = robin.locator(f".queue-entry[data-conversation='{conv}']")
        await row.get_by_role("link", name="View").click()
        stream = robin.get_by_test_id("assistant-stream")
        await expect(stream.locator(".bubble")).to_have_text(re.compile(r"\S"))
        first = await stream.locator(".bubble").inner_text()
        # Joined mid-answer: the pieces written since then (deltas are not replayed).
        assert first in final and len(first) < len(final)
        answer = robin.locator(".msg[data-kind=assistant] .bubble").filter(
            has_text="Forgot password"
        )
        await expect(answer).to_have_text(final, timeout=15_000)
        await expect(stream).to_have_count(0)
        # Viewing did not take it: it still waits for a person.
        await expect(robin.get_by_test_id("status")).to_have_text("open")
        await expect(robin.locator(".thread-head")).to_contain_text("unassigned")
    finally:
        await cust.close()


async def test_the_agent_who_takes_over_sees_the_brief_above_the_thread(
    servers: Servers, visitor
) -> None:
    server = await assistant_site(servers)  # no model: extractive answers and brief
    robin, _ = await console_agent(visitor, server, "Robin")
    cust, conv = await answered_by_the_assistant(robin, server)
    try:
        await set_status(robin, "online")  # routing gives it to Robin, with the brief
        item = robin.locator(f".conv-item[data-conversation='{conv}']")
        await item.click()
        brief = robin.get_by_test_id("handover")
        await expect(brief).to_contain_text("Handed over by the assistant")
        await expect(brief).to_contain_text("An agent became available")
        await expect(brief.locator(".handover-summary")).to_contain_text("reset my password")
        await expect(brief.locator(".handover-cited li").first).to_contain_text("reset-password")
        # The thread marks when it was handed over (without repeating it); the button finds it.
        await brief.get_by_role("button", name="Show in the thread").click()
        note = robin.locator(".msg.note.brief-note[data-kind=system]")
        await expect(note).to_be_in_viewport()

        # After a reload it comes from the server, however far back the note is.
        await robin.reload()
        await robin.locator(f".conv-item[data-conversation='{conv}']").click()
        await expect(robin.get_by_test_id("handover").locator(".handover-summary")).to_contain_text(
            "reset my password"
        )
        # Folded away, it stays out of the way of the thread.
        await robin.get_by_test_id("handover").locator("summary").click()
        await expect(robin.get_by_test_id("handover").locator(".handover-summary")).to_be_hidden()
    finally:
        await cust.close()


async def test_a_conversation_the_assistant_never_had_shows_no_brief(
    servers: Servers, visitor
) -> None:
    server = await assistant_site(servers, assistant_mode="off")
    robin, _ = await console_agent(visitor, server, "Robin")
    cust, conv = await waiting_customer(server, name="Casey")
    try:
        await cust.ok("send_message", {"conversation_id": conv, "client_id": "c1", "body": "Hello"})
        await robin.locator(f".conv-item[data-conversation='{conv}']").click()
        await expect(robin.locator(".msg[data-kind=customer]")).to_have_count(1)
        await expect(robin.get_by_test_id("handover")).to_have_count(0)
    finally:
        await cust.close()
