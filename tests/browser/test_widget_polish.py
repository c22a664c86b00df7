"""What a customer tripped over in the widget: following new messages after an image, read
meaning seen, who helps after a transfer, long pastes, and notices said once."""

from __future__ import annotations

import asyncio
import struct
import zlib
from typing import Any

import aiohttp
from playwright.async_api import expect

from server.core.models import AgentRole
from tests.browser.console import new_agent, sign_in
from tests.browser.helpers import (
    COMPOSER,
    chat_joined_by,
    conversation_id,
    new_chat,
    open_demo,
    send,
    texts,
)
from tests.e2e.routing_support import add_team, assignee, eventually, online_agent
from tests.support import RunningServer, agent_token


async def new_admin(server: RunningServer) -> str:
    _, email = await new_agent(server, "Ada Admin", role=AgentRole.ADMIN, teams=())
    return email


def png(width: int, height: int) -> bytes:
    """A plain grey PNG of the given size (a screenshot a customer would send)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    rows = b"".join(b"\x00" + b"\x99" * (width * 3) for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


async def scroll_list(page: Any, to: str) -> None:
    """Scroll the message list like the visitor does, and wait until the widget saw it."""
    await page.locator(".body").evaluate(
        """(body, to) => new Promise((done) => {
            body.addEventListener("scroll", () => done(), { once: true });
            body.scrollTop = to === "top" ? 0 : body.scrollHeight;
        })""",
        to,
    )


async def test_the_list_follows_after_an_image_and_read_means_seen(
    server: RunningServer, visitor, staff, artifacts
) -> None:
    robin = await staff("Robin")
    page, conv = await chat_joined_by(visitor, server, robin)
    for n in range(10):
        await robin.ok(
            "send_message",
            {"conversation_id": conv, "client_id": f"r{n}", "body": f"Step {n}: try this."},
        )
    await expect(page.locator(".msg.in:not(.greeting)")).to_have_count(10)

    async with page.expect_file_chooser() as chooser:
        await page.locator(".composer .attach").click()
    await (await chooser.value).set_files(
        [{"name": "screen.png", "mimeType": "image/png", "buffer": png(400, 300)}]
    )
    image = page.locator(".msg.out .media img")
    # The image loads lazily: only once the list has followed it into view. decode() on an
    # image out of view waits for ever, so wait for that fact first, and bound the decoding.
    await expect(image).to_be_in_viewport()
    await asyncio.wait_for(image.evaluate("img => img.decode()"), timeout=30)
    assert await image.evaluate("img => img.naturalWidth") == 400

    # A reply after the image is followed: it is in view without the visitor scrolling.
    await robin.ok(
        "send_message", {"conversation_id": conv, "client_id": "after", "body": "Thanks, I see it."}
    )
    reply = page.locator(".msg.in .bubble", has_text="Thanks, I see it.")
    await expect(reply).to_be_in_viewport()
    await expect(page.locator(".new-hint")).to_be_hidden()

    # Scrolled up to reread: a new reply is delivered, but not read, until it is seen.
    await scroll_list(page, "top")
    sent = await robin.ok(
        "send_message", {"conversation_id": conv, "client_id": "late", "body": "Anything else?"}
    )
    seq = sent["seq"]
    await robin.log.wait_for(
        "receipt", lambda r: r["reader_kind"] == "customer" and r["delivered_seq"] >= seq
    )
    assert not [
        r
        for r in robin.log.of("receipt")
        if r["reader_kind"] == "customer" and r["read_seq"] >= seq
    ]
    hint = page.locator(".new-hint")
    await expect(hint).to_be_visible()
    await page.screenshot(
        path=str(artifacts / "widget-new-messages-hint.png"), animations="disabled"
    )
    await hint.click()
    await robin.log.wait_for(
        "receipt", lambda r: r["reader_kind"] == "customer" and r["read_seq"] >= seq
    )
    await expect(page.locator(".msg.in .bubble", has_text="Anything else?")).to_be_in_viewport()
    await expect(hint).to_be_hidden()


async def test_a_transfer_names_the_new_team_and_the_new_helper(
    server: RunningServer, visitor
) -> None:
    billing = await add_team(server, "billing", "Billing")
    sam_id, _, sam = await online_agent(server, "Sam Agent")
    kim_id, _, kim = await online_agent(server, "Kim Billing", teams=("billing",))
    try:
        await kim.ok("set_presence", {"status": "away"})
        page = await new_chat(visitor, server)
        conv = await conversation_id(page, server)
        assert await eventually(lambda: assignee(server, conv)) == sam_id
        await expect(page.locator(".head p")).to_have_text("Sam Agent is helping you")
        await sam.ok(
            "send_message",
            {"conversation_id": conv, "client_id": "s1", "body": "Let me pass you to billing."},
        )
        await expect(page.locator(".msg.in .bubble", has_text="billing")).to_be_visible()

        await sam.ok("transfer", {"conversation_id": conv, "to_team_id": str(billing)})
        await expect(page.locator(".notice", has_text="Transferred to")).to_have_text(
            "Transferred to Billing"
        )
        await expect(page.locator(".head p")).to_have_text("Waiting for a team member")

        await kim.ok("set_presence", {"status": "online"})
        assert await eventually(lambda: assignee(server, conv)) == kim_id
        await expect(page.locator(".notice").last).to_have_text("Kim Billing joined")
        await expect(page.locator(".head p")).to_have_text("Kim Billing is helping you")
    finally:
        await sam.close()
        await kim.close()


async def test_a_long_paste_is_kept_counted_and_not_sent_until_short_enough(
    server: RunningServer, visitor, staff
) -> None:
    robin = await staff("Robin")
    page, conv = await chat_joined_by(visitor, server, robin)
    composer = page.locator(COMPOSER)
    await composer.focus()
    await page.keyboard.insert_text("x" * 6000)  # as a paste arrives: typed-in text obeys limits
    assert await composer.evaluate("t => t.value.length") == 6000
    await expect(page.locator(".count")).to_have_text(
        "1000 characters too long to send: shorten it or split it in two"
    )
    await expect(page.locator(".composer .send")).to_be_disabled()
    await composer.press("Enter")
    assert await composer.evaluate("t => t.value.length") == 6000  # still there, nothing sent

    # Near the limit the counter says how much of it is used; within it, sending works.
    await composer.fill("y" * 4600)
    await composer.dispatch_event("input")
    await expect(page.locator(".count")).to_have_text("4600 / 5000")
    await composer.press("Enter")
    got = await robin.log.wait_for("message")
    assert [len(m["body"]) for m in got] == [4600]  # the 6,000 characters never went out
    await expect(page.locator(".count")).to_be_hidden()
    assert conv


async def test_a_reopened_conversation_says_so_once(server: RunningServer, visitor, staff) -> None:
    robin = await staff("Robin")
    page, conv = await chat_joined_by(visitor, server, robin)
    await send(page, "Thanks, that's all")
    await robin.log.wait_for("message")
    resolved = page.locator(".head p", has_text="This conversation has been resolved")

    # Reopened by the agent, then by the customer's message: each time one notice.
    await robin.ok("resolve", {"conversation_id": conv})
    await expect(resolved).to_be_visible()
    await robin.ok("reopen", {"conversation_id": conv})
    await expect(resolved).to_be_hidden()
    await robin.ok("resolve", {"conversation_id": conv})
    await expect(resolved).to_be_visible()
    await send(page, "Oh, one more thing")
    await expect(resolved).to_be_hidden()
    # A later round trip: the agent's answer is shown after everything the reopening caused.
    await robin.ok(
        "send_message", {"conversation_id": conv, "client_id": "a1", "body": "Sure, go ahead"}
    )
    await expect(page.locator(".msg.in .bubble", has_text="Sure, go ahead")).to_be_visible()
    notices = await texts(page, ".notice")
    assert [n for n in notices if n.startswith("Conversation")] == [
        "Conversation resolved",
        "Conversation reopened",
        "Conversation resolved",
        "Conversation reopened",
    ], notices


async def test_open_widgets_pick_up_new_settings_as_the_preview_shows_them(
    console_bundle, server: RunningServer, chromium, visitor
) -> None:
    page = await visitor.new_page()
    await open_demo(page, server)
    await expect(page.locator(".head p")).to_have_text("We're here to help")

    _, token = await agent_token(server, role=AgentRole.ADMIN, name="Ada Admin", teams=())
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as http:
        async with http.put(f"{server.url}/api/v1/admin/settings/widget", json={
            "color": "#aa3300", "greeting": "Welcome to Acme!", "hours_text": "Mon–Fri, 9–17",
            "prechat_email": "required",
        }) as response:  # fmt: skip
            assert response.status == 200, await response.text()
    # The widget already open takes them within the 15 seconds the admin page promises.
    await expect(page.locator(".launcher")).to_have_css(
        "background-color", "rgb(170, 51, 0)", timeout=15_000
    )
    await expect(page.locator(".head p")).to_have_text("Opening hours: Mon–Fri, 9–17")

    # The admin's preview says what a new visitor's widget says.
    admin_ctx = await chromium.new_context(viewport={"width": 1280, "height": 800})
    try:
        ada = await admin_ctx.new_page()
        await sign_in(ada, server, await new_admin(server))
        await ada.get_by_test_id("admin-tab").click()
        await ada.locator(".admin-nav a", has_text="Widget").click()
        preview = ada.get_by_test_id("widget-preview")
        await expect(preview.get_by_test_id("preview-subtitle")).to_have_text(
            "Opening hours: Mon–Fri, 9–17"
        )
        fresh = await admin_ctx.new_page()
        await open_demo(fresh, server)
        assert (
            await fresh.locator(".head p").inner_text()
            == await preview.get_by_test_id("preview-subtitle").inner_text()
        )
        assert await fresh.locator(".prechat h3").inner_text() == "Before we start"
        await expect(preview).to_contain_text("Before we start")
        labels = [
            " ".join(t.split())
            for t in await fresh.locator(".prechat label > span:first-child").all_inner_texts()
        ]
        assert labels == ["Name (optional)", "Email"]
        assert [
            " ".join(t.split()) for t in await preview.locator(".wp-field").all_inner_texts()
        ] == labels
    finally:
        await admin_ctx.close()
