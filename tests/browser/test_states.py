"""What the visitor is told about the conversation: with an agent, resolved and reopened. The
assistant's states (answering, asking for a person, hand-over) are in test_assistant.py."""

from __future__ import annotations

from playwright.async_api import expect

from tests.browser.helpers import (
    chat_joined_by,
    conversation_id,
    send,
    texts,
)
from tests.support import RunningServer


async def test_resolved_conversations_can_be_reopened_or_started_afresh(
    server: RunningServer, visitor, staff
) -> None:
    robin = await staff("Robin")
    page, conv = await chat_joined_by(visitor, server, robin)
    await send(page, "Thanks, that's all")
    await robin.log.wait_for("message")
    await robin.ok(
        "send_message", {"conversation_id": conv, "client_id": "a1", "body": "Happy to help!"}
    )
    await expect(page.locator(".head p")).to_have_text("Robin is helping you")

    await robin.ok("resolve", {"conversation_id": conv})
    await expect(page.locator(".head p")).to_have_text("This conversation has been resolved")
    # Robin was assigned as the chat started (told while it was being started), then resolved it.
    await expect(page.locator(".notice")).to_have_text(["Robin joined", "Conversation resolved"])
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
