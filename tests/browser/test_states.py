"""What the visitor is told about the conversation: waiting, with the assistant (and asking for
a person), with an agent, resolved and reopened."""

from __future__ import annotations

from playwright.async_api import expect

from tests.browser.helpers import (
    conversation_id,
    open_demo,
    send,
    start_chat,
    store_assistant_message,
    texts,
)
from tests.support import RunningServer


async def test_assistant_answers_with_sources_and_a_person_can_be_asked_for(server: RunningServer, visitor, staff) -> None:
    # Someone is online (so the widget offers a live chat), but in another team: the visitor
    # waits in line, and the assistant is who answers meanwhile.
    await staff("Robin", teams=("billing",))
    page = await visitor.new_page()
    await open_demo(page, server)
    await start_chat(page)
    conv = await conversation_id(page, server)
    await expect(page.locator(".head p")).to_have_text("Waiting for a team member")
    await send(page, "How do refunds work?")
    await expect(page.locator(".msg.out .state")).to_have_attribute("data-status", "sent")
    await store_assistant_message(server, conv, "Annual plans can be refunded within 14 days.", {
        "citations": [{"slug": "refund-policy", "title": "Refund policy", "url": "https://help.example/refunds"}],
    })
    await page.reload()
    answer = page.locator(".msg.assistant")
    await expect(answer.locator(".bubble")).to_have_text("Annual plans can be refunded within 14 days.")
    await expect(answer.locator(".who")).to_have_text("Assistant")
    await expect(answer.locator(".citations a")).to_have_attribute("href", "https://help.example/refunds")
    await expect(page.locator(".head p")).to_have_text("You're chatting with our assistant")

    # Asking for a person: the server confirms, the button goes, and the visitor is told.
    await page.locator(".status .human").click()
    await expect(page.locator(".status")).to_contain_text("We've asked a team member to join")
    await expect(page.locator(".status .human")).to_have_count(0)


async def test_resolved_conversations_can_be_reopened_or_started_afresh(server: RunningServer, visitor, staff) -> None:
    robin = await staff("Robin")
    page = await visitor.new_page()
    await open_demo(page, server)
    await start_chat(page)
    conv = await conversation_id(page, server)
    await robin.ok("join", {"conversation_id": conv})
    await send(page, "Thanks, that's all")
    await robin.log.wait_for("message")
    await robin.ok("send_message", {"conversation_id": conv, "client_id": "a1", "body": "Happy to help!"})
    await expect(page.locator(".head p")).to_have_text("Robin is helping you")

    await robin.ok("resolve", {"conversation_id": conv})
    await expect(page.locator(".head p")).to_have_text("This conversation has been resolved")
    await expect(page.locator(".notice")).to_have_text("Conversation resolved")
    await expect(page.locator(".status .new-conversation")).to_be_visible()

    # Writing again reopens the same conversation.
    await send(page, "One more thing")
    await expect(page.locator(".notice", has_text="Conversation reopened")).to_have_count(1)
    # Reopened, it is routed again: Robin (online, with room) gets it back at once.
    await expect(page.locator(".notice").last).to_have_text("Robin joined")
    await expect(page.locator(".status .new-conversation")).to_have_count(0)
    assert await conversation_id(page, server) == conv

    await robin.ok("resolve", {"conversation_id": conv})
    await page.locator(".status .new-conversation").click()
    await expect(page.locator(".log .msg:not(.greeting)")).to_have_count(0)
    await send(page, "A brand new question")
    await expect(page.locator(".msg.out .state")).to_have_attribute("data-status", "sent")
    fresh = await conversation_id(page, server)
    assert fresh != conv
    assert await texts(page) == ["A brand new question"]
