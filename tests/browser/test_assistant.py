"""The AI assistant in the widget, against a real server where it answers: a small help center
published through the admin API, answers quoted from it (or streamed by a local server that
speaks the OpenAI protocol), asking for a person, an agent taking over, and "that solved it"."""

from __future__ import annotations

import re
import uuid
from typing import Any

import aiohttp
from playwright.async_api import expect

from server.assistant.extractive import DECLINE_TEXT, FALLBACK_INTRO
from server.assistant.retrieval_eval import DEMO_KB
from server.core.models import AgentRole
from tests.browser.helpers import conversation_id, new_chat, open_demo, send, start_chat, texts
from tests.e2e.assistant_support import OFF_TOPIC, PASSWORD_QUESTION, fetch, settled
from tests.fake_openai import FakeOpenAI, Reply
from tests.support import RunningServer, Servers, agent_token

HELP = "https://help.example.com/articles/"
ARTICLES = ("reset-password", "refund-policy", "two-factor-authentication")
ANSWERS = ".log .msg.assistant:not(.streaming)"


async def publish(server: RunningServer, articles: list[dict[str, Any]]) -> list[tuple[int, Any]]:
    """Articles saved by an admin through the knowledge-base API, as a help center is kept."""
    _, token = await agent_token(server, role=AgentRole.ADMIN, name="Admin", teams=())
    results = []
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as http:
        for article in articles:
            async with http.post(
                f"{server.url}/api/v1/knowledge/articles", json=article
            ) as response:
                results.append((response.status, await response.json()))
    return results


def demo_article(slug: str, **changes: Any) -> dict[str, Any]:
    return {
        "slug": slug,
        "body": (DEMO_KB / f"{slug}.md").read_text(),
        "source_url": HELP + slug,
        **changes,
    }


async def assistant_site(
    servers: Servers, articles: list[dict[str, Any]] | None = None, **overrides: Any
) -> RunningServer:
    """A server whose assistant answers while no agent can, with a small help center."""
    values: dict[str, Any] = {
        "assistant_mode": "when_no_agent",
        "routing_tick_seconds": 0.1,
        "reconcile_seconds": 3600,
        "unanswered_seconds": 0,
    }
    server = await servers.start(**{**values, **overrides})
    published = await publish(server, articles or [demo_article(slug) for slug in ARTICLES])
    assert all(status == 201 for status, _ in published), published
    return server


# Records what the widget shows at every change of its DOM: whether the typing line is up,
# how many final answers and which streamed texts are in the list.
WATCH = """() => {
  const root = document.querySelector('[data-parley]').shadowRoot;
  const seen = (window.__seen = []);
  new MutationObserver(() => {
    const typing = root.querySelector('.typing');
    seen.push({
      typing: typing && !typing.hidden ? typing.textContent : '',
      answers: root.querySelectorAll('.msg.assistant:not(.streaming)').length,
      streaming: [...root.querySelectorAll('.msg.streaming .bubble')].map((b) => b.textContent),
    });
  }).observe(root, { subtree: true, childList: true, attributes: true, characterData: true });
}"""


async def test_answers_cite_their_articles_as_links_and_unknowns_offer_a_person(
    servers: Servers, visitor
) -> None:
    # Nobody is online at all: the widget still offers a live chat, because the assistant answers.
    server = await assistant_site(servers)
    page = await new_chat(visitor, server)
    greeting = page.locator(ANSWERS).first
    await expect(greeting.locator(".bubble")).to_contain_text("virtual assistant")
    await expect(greeting.locator(".who")).to_have_text(
        "Parley Assistant"
    )  # the server's name for it
    await expect(page.locator(".head p")).to_have_text("You're chatting with our assistant")
    await expect(page.locator(".status .human")).to_be_visible()

    await page.evaluate(WATCH)
    await send(page, PASSWORD_QUESTION)
    answer = page.locator(ANSWERS).nth(1)
    await expect(answer.locator(".bubble")).to_contain_text("Forgot password?")
    # The assistant was typing before its answer came.
    seen = await page.evaluate("window.__seen")
    assert any(s["typing"] == "Parley Assistant is typing…" and s["answers"] == 1 for s in seen), (
        seen
    )
    await expect(page.locator(".typing")).to_be_hidden()
    source = answer.locator(".citations a").first
    await expect(source).to_have_text("Resetting a forgotten password")
    await expect(source).to_have_attribute("href", HELP + "reset-password")
    await expect(source).to_have_attribute("target", "_blank")
    await expect(source).to_have_attribute("rel", re.compile(r"\bnoopener\b"))
    assert await page.locator(".msg.streaming").count() == 0

    # Out of scope: "I don't know" and the offer of a person, without sources.
    await send(page, OFF_TOPIC)
    declined = page.locator(ANSWERS).nth(2)
    await expect(declined.locator(".bubble")).to_have_text(DECLINE_TEXT)
    await expect(declined.locator(".citations")).to_have_count(0)
    await expect(page.locator(".status .human")).to_be_visible()
    assert (await texts(page, ANSWERS + " .bubble"))[2:] == [
        DECLINE_TEXT
    ]  # one answer per question


async def test_a_streamed_answer_grows_then_becomes_one_message(
    servers: Servers, visitor, fake_openai: FakeOpenAI
) -> None:
    # Released a checked sentence at a time: the bubble grows twice before the message.
    final = ("Click Forgot password? on the sign-in page [1]. Then enter your email address [1]. "
             "Finally, follow the link in the email we send you [1].")  # fmt: skip
    fake_openai.default = Reply(final, piece=6, piece_delay=0.25)  # about 5 s in all
    server = await assistant_site(
        servers, openai_api_key="test-key", openai_base_url=fake_openai.base_url,
        assistant_timeout_seconds=5.0, assistant_retries=0,
    )  # fmt: skip
    page = await new_chat(visitor, server)
    await expect(page.locator(ANSWERS)).to_have_count(1)  # the greeting
    await page.evaluate(WATCH)
    await send(page, PASSWORD_QUESTION)

    streaming = page.locator(".msg.streaming .bubble")
    await expect(streaming).to_have_text(re.compile(r"\S"))
    first = await streaming.inner_text()
    assert final.startswith(first) and len(first) < len(final)
    await expect(page.locator(".typing")).to_have_text("Parley Assistant is typing…")
    await expect(page.locator(".msg.streaming .who")).to_have_text("Parley Assistant")
    await expect(streaming).not_to_have_text(first)  # still growing
    later = await streaming.inner_text()
    assert final.startswith(later) and len(first) < len(later) < len(final)

    answers = page.locator(ANSWERS)
    await expect(answers).to_have_count(2)
    await expect(answers.nth(1).locator(".bubble")).to_have_text(final)
    await expect(page.locator(".msg.streaming")).to_have_count(0)
    await expect(answers.nth(1).locator(".citations a")).to_have_attribute(
        "href", HELP + "reset-password"
    )
    # Never two bubbles of the answer: the streamed one was replaced by the message.
    seen = await page.evaluate("window.__seen")
    assert not [s for s in seen if s["answers"] == 2 and s["streaming"]], seen
    assert [t for t in await texts(page) if "Forgot password" in t] == [final]


async def test_asking_for_a_person_queues_and_an_agent_takes_over(
    servers: Servers, chromium, visitor, staff
) -> None:
    server = await assistant_site(servers)
    page = await new_chat(visitor, server, name="First")
    await send(page, PASSWORD_QUESTION)
    await expect(page.locator(ANSWERS)).to_have_count(2)

    # The button: the assistant confirms, and the widget shows the place in line.
    await page.locator(".status .human").click()
    await expect(page.locator(ANSWERS).last.locator(".bubble")).to_contain_text(
        "asked for a person"
    )
    await expect(page.locator(".status .queue")).to_have_text("You're number 1 in line")
    await expect(page.locator(".head p")).to_have_text("Waiting for a team member")
    await expect(page.locator(".status .human")).to_have_count(0)

    # Plain words do the same for a second visitor, who is next in line.
    other = await chromium.new_context(viewport={"width": 1280, "height": 800})
    try:
        second = await new_chat(other, server, name="Second")
        await expect(second.locator(ANSWERS)).to_have_count(1)
        await send(second, "talk to a person")
        await expect(second.locator(ANSWERS).last.locator(".bubble")).to_contain_text(
            "You're number 2 in line"
        )
        await expect(second.locator(".status .queue")).to_have_text("You're number 2 in line")
        await expect(second.locator(".head p")).to_have_text("Waiting for a team member")

        # An agent with room for one comes online and takes the first in line.
        robin = await staff("Robin", max_chats=1)
        await expect(page.locator(".head p")).to_have_text("Robin is helping you")
        await expect(page.locator(".notice").last).to_have_text("Robin joined")
        await expect(page.locator(ANSWERS).last.locator(".bubble")).to_contain_text(
            "Robin from our team is taking over"
        )
        await expect(page.locator(".status .queue")).to_have_count(0)
        await expect(second.locator(".status .queue")).to_have_text("You're number 1 in line")
    finally:
        await other.close()

    # From now on only Robin answers: the assistant says nothing more.
    conv = await conversation_id(page, server)
    before = await page.locator(ANSWERS).count()
    await robin.ok("join", {"conversation_id": conv})
    await send(page, "And how do I turn on two-factor authentication?")
    await robin.log.wait_for("message", lambda m: m["body"].startswith("And how"))
    await robin.ok(
        "send_message", {"conversation_id": conv, "client_id": "r1", "body": "Let me show you."}
    )
    await expect(page.locator(".msg[data-sender=agent] .bubble")).to_have_text("Let me show you.")
    await settled(server)  # whatever the assistant started is done: no answer came
    assert await page.locator(ANSWERS).count() == before
    after_handover = """
        SELECT count(*) AS n FROM messages WHERE conversation_id = $1 AND sender_kind = 'assistant'
           AND seq > (SELECT min(seq) FROM messages WHERE conversation_id = $1 AND metadata ? 'handover')
    """
    assert (await fetch(server, after_handover, uuid.UUID(conv)))[0]["n"] == 0


async def test_that_solved_it_resolves_the_conversation(servers: Servers, visitor) -> None:
    server = await assistant_site(servers)
    page = await new_chat(visitor, server)
    await send(page, PASSWORD_QUESTION)
    await expect(page.locator(ANSWERS)).to_have_count(2)
    await send(page, "Thanks, that solved it!")
    await expect(page.locator(ANSWERS).last.locator(".bubble")).to_have_text(
        re.compile("^Glad I could help")
    )
    await expect(page.locator(".head p")).to_have_text("This conversation has been resolved")
    await expect(page.locator(".notice").last).to_have_text("Conversation resolved")
    await expect(page.locator(".status .new-conversation")).to_be_visible()
    await expect(page.locator(".status .human")).to_have_count(0)
    conv = uuid.UUID(await conversation_id(page, server))
    assert (await fetch(server, "SELECT status FROM conversations WHERE id = $1", conv))[0][
        "status"
    ] == "resolved"


EVIL_TITLE = "<img src=x onerror=\"window.__xss='title'\">Resetting a forgotten password"
EVIL_HTTPS = HELP + 'reset"><img/src=x/onerror="window.__xss=\'url\'">'  # no spaces: a URL
SCRIPT_TITLE = "<script>window.__xss='script'</script>Password reset emails"
JAVASCRIPT_URL = "javascript:window.__xss='href'"


async def test_article_titles_and_urls_cannot_run_script(servers: Servers, visitor) -> None:
    email_article = {"slug": "reset-emails", "title": SCRIPT_TITLE, "source_url": HELP + "reset-emails",
                     "body": "# Password reset emails\n\nTo reset your password, use the link in the reset email. "
                             "The password reset email arrives within 10 minutes; check your spam folder."}  # fmt: skip
    server = await assistant_site(
        servers,
        [demo_article("reset-password", title=EVIL_TITLE, source_url=EVIL_HTTPS), email_article],
    )
    # The API refuses a script URL for an article...
    refused = await publish(
        server, [{**email_article, "slug": "other", "source_url": JAVASCRIPT_URL}]
    )
    assert refused[0][0] == 422, refused
    # ...but the widget must not trust that every writer of the database checked: one did not.
    updated = await fetch(
        server,
        "UPDATE kb_articles SET source_url = $1 WHERE slug = 'reset-emails' RETURNING slug",
        JAVASCRIPT_URL,
    )
    assert updated

    page = await visitor.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))
    await open_demo(page, server)
    await start_chat(page)
    await send(page, PASSWORD_QUESTION)
    answer = page.locator(ANSWERS).nth(1)
    citations = answer.locator(".citations li")
    await expect(citations).to_have_count(2)
    # Titles are text; the https URL is a link whose markup-looking characters stay in the URL.
    await expect(citations.nth(0)).to_have_text(EVIL_TITLE)
    href = await citations.nth(0).locator("a").get_attribute("href")
    assert href is not None and href.startswith(HELP + "reset%22%3E%3Cimg")
    # The javascript: URL is no link at all, anywhere in the answer.
    await expect(citations.nth(1)).to_have_text(SCRIPT_TITLE)
    await expect(citations.nth(1).locator("a")).to_have_count(0)
    hrefs = await page.locator(".log a").evaluate_all(
        "links => links.map((a) => a.getAttribute('href'))"
    )
    assert hrefs and all(h.startswith("https://") for h in hrefs), hrefs
    await expect(answer.locator(".bubble")).to_contain_text(
        SCRIPT_TITLE
    )  # the quoted reference, as text
    # No element was created from the text at all, so no handler can ever run.
    assert await page.locator(".log img, .log script").count() == 0
    assert await page.evaluate("window.__xss") is None
    assert dialogs == []


async def test_screenshots_of_an_answer_and_of_waiting_in_line(
    servers: Servers, chromium, artifacts
) -> None:  # type: ignore[no-untyped-def]
    server = await assistant_site(servers)
    screens = {
        "desktop": {"viewport": {"width": 1280, "height": 800}},
        "mobile": {
            "viewport": {"width": 390, "height": 844},
            "device_scale_factor": 2,
            "is_mobile": True,
            "has_touch": True,
        },
    }
    for name, options in screens.items():
        context = await chromium.new_context(**options)
        try:
            page = await new_chat(context, server)
            await expect(page.locator(ANSWERS)).to_have_count(1)
            await page.screenshot(
                path=str(artifacts / f"assistant-{name}-greeting.png"), animations="disabled"
            )
            await send(page, PASSWORD_QUESTION)
            await expect(page.locator(ANSWERS + " .citations a").first).to_be_visible()
            await expect(page.locator(".typing")).to_be_hidden()
            # A long answer is shown from its start; its sources are where the visitor scrolls to.
            answer = page.locator(ANSWERS).last
            assert await answer.evaluate("el => el.getBoundingClientRect().top") < await page.locator(".body").evaluate(
                "el => el.getBoundingClientRect().top + 40")  # fmt: skip
            await page.screenshot(
                path=str(artifacts / f"assistant-{name}-answer.png"), animations="disabled"
            )
            await page.locator(".body").evaluate("el => { el.scrollTop = el.scrollHeight; }")
            await page.screenshot(
                path=str(artifacts / f"assistant-{name}-sources.png"), animations="disabled"
            )
            await page.locator(".status .human").click()
            await expect(page.locator(".status .queue")).to_be_visible()
            await expect(page.locator(ANSWERS).last).to_contain_text("asked for a person")
            await expect(
                page.locator(ANSWERS).last
            ).to_be_in_viewport()  # the visitor sees the confirmation
            await page.screenshot(
                path=str(artifacts / f"assistant-{name}-waiting.png"), animations="disabled"
            )
        finally:
            await context.close()


async def test_a_model_failing_mid_answer_leaves_one_quoted_answer(
    servers: Servers, visitor, fake_openai: FakeOpenAI
) -> None:
    fake_openai.default = Reply("Click Forgot password? on the sign-in page and then follow the email [1].",
                                piece=5, fail_after=4, piece_delay=0.2)  # fmt: skip
    server = await assistant_site(
        servers, openai_api_key="test-key", openai_base_url=fake_openai.base_url,
        assistant_timeout_seconds=5.0, assistant_retries=0,
    )  # fmt: skip
    page = await new_chat(visitor, server)
    await expect(page.locator(ANSWERS)).to_have_count(1)
    await page.evaluate(WATCH)
    await send(page, PASSWORD_QUESTION)
    # The model broke off before citing anything: none of its words were shown; the customer
    # gets the help center's passage, once.
    answer = page.locator(ANSWERS).nth(1)
    await expect(answer.locator(".bubble")).to_contain_text(FALLBACK_INTRO)
    await expect(page.locator(".msg.streaming")).to_have_count(0)
    seen = await page.evaluate("window.__seen")
    assert not [s for s in seen if any("Click" in text for text in s["streaming"])], seen
    assert "Click" not in await answer.locator(".bubble").inner_text()
    await expect(page.locator(ANSWERS)).to_have_count(2)


async def test_an_agent_taking_over_mid_answer_removes_the_streamed_text(
    servers: Servers, visitor, staff, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script = [
        # A cited first sentence streams at once; the rest comes slowly, so the agent takes
        # over mid-answer.
        Reply("To reset your password, click Forgot password on the sign-in page [1]. Then enter "
              "your email address and follow the link in the email we send you, which can take a "
              "minute or two to arrive, so please check your spam folder too [1].",
              piece=8, piece_delay=0.25),
        Reply("The customer wants to reset their password."),  # the agent's brief
    ]  # fmt: skip
    server = await assistant_site(
        servers, openai_api_key="test-key", openai_base_url=fake_openai.base_url,
        assistant_timeout_seconds=5.0, assistant_retries=0,
    )  # fmt: skip
    page = await new_chat(visitor, server)
    await expect(page.locator(ANSWERS)).to_have_count(1)
    await send(page, PASSWORD_QUESTION)
    await expect(page.locator(".msg.streaming .bubble")).to_contain_text("To reset")

    await staff("Robin")
    await expect(page.locator(ANSWERS).last.locator(".bubble")).to_contain_text(
        "Robin from our team is taking over"
    )
    await expect(page.locator(".head p")).to_have_text("Robin is helping you")
    # The unfinished answer is gone and never comes back: the assistant has stopped.
    await expect(page.locator(".msg.streaming")).to_have_count(0)
    await expect(page.locator(".typing")).to_be_hidden()
    await settled(server)  # the stopped answer's task is over: nothing more can stream
    await expect(page.locator(".msg.streaming")).to_have_count(0)
    assert [t for t in await texts(page, ANSWERS + " .bubble") if "To reset" in t] == []
