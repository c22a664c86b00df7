"""The widget survives reloads, follows the conversation across tabs, and sends what was
written offline exactly once, in order, when the network is back."""

from __future__ import annotations

from playwright.async_api import expect

from tests.browser.helpers import (
    LAUNCHER,
    PANEL,
    chat_joined_by,
    conversation_id,
    new_chat,
    open_demo,
    send,
    start_chat,
    texts,
)
from tests.e2e.routing_support import eventually
from tests.support import RunningServer


async def test_a_reload_keeps_the_conversation_and_a_second_tab_follows_it(
    server: RunningServer, visitor, staff
) -> None:
    robin = await staff("Robin")
    first, conv = await chat_joined_by(visitor, server, robin)
    await send(first, "Before the reload")
    await robin.log.wait_for("message")
    await robin.ok("send_message", {"conversation_id": conv, "client_id": "a1", "body": "Got it"})
    await expect(first.locator(".msg.in:not(.greeting) .bubble")).to_have_text("Got it")

    await first.reload()
    # The panel was open before the reload, so it is open again, with the same conversation.
    await first.locator(PANEL).wait_for(state="visible")
    await expect(first.locator(".log .msg:not(.greeting) .bubble")).to_have_count(2)
    assert await texts(first) == ["Before the reload", "Got it"]
    assert await conversation_id(first, server) == conv

    # A second tab of the same site shows the same conversation, and new messages reach both.
    second = await visitor.new_page()
    await second.goto(f"{server.url}/demo/")
    await second.locator(LAUNCHER).click()
    await expect(second.locator(".log .msg:not(.greeting) .bubble")).to_have_count(2)
    await send(second, "From the second tab")
    await robin.log.wait_for("message", lambda m: m["body"] == "From the second tab")
    await robin.ok(
        "send_message", {"conversation_id": conv, "client_id": "a2", "body": "Both tabs see this"}
    )
    for page in (first, second):
        await expect(page.locator(".log .msg:not(.greeting) .bubble")).to_have_count(4)
        assert await texts(page) == [
            "Before the reload",
            "Got it",
            "From the second tab",
            "Both tabs see this",
        ]
    history = await robin.ok("history", {"conversation_id": conv})
    assert [m["body"] for m in history["messages"]] == [
        "Before the reload",
        "Got it",
        "From the second tab",
        "Both tabs see this",
    ]


async def test_messages_written_offline_are_sent_once_in_order_when_back_online(
    server: RunningServer, visitor, staff
) -> None:
    robin = await staff("Robin")
    page, conv = await chat_joined_by(visitor, server, robin)
    await send(page, "Online first")
    await robin.log.wait_for("message")

    await visitor.set_offline(True)
    await expect(page.locator(".banner")).to_contain_text("offline")
    for body in ("Offline one", "Offline two", "Offline three"):
        await send(page, body)
    pending = page.locator(".msg.pending")
    await expect(pending).to_have_count(3)
    await expect(pending.first).to_have_attribute("data-state", "queued")
    # The team answers while the visitor is away.
    await robin.ok(
        "send_message", {"conversation_id": conv, "client_id": "a1", "body": "Are you still there?"}
    )
    await robin.ok(
        "send_message", {"conversation_id": conv, "client_id": "a2", "body": "I'll wait."}
    )

    await visitor.set_offline(False)
    await expect(page.locator(".banner")).to_be_hidden()
    await expect(page.locator(".msg.pending")).to_have_count(0)
    expected = [
        "Online first",
        "Are you still there?",
        "I'll wait.",
        "Offline one",
        "Offline two",
        "Offline three",
    ]
    await expect(page.locator(".log .msg:not(.greeting) .bubble")).to_have_count(len(expected))
    assert await texts(page) == expected
    history = await robin.ok("history", {"conversation_id": conv})
    assert [m["body"] for m in history["messages"]] == expected
    assert [m["seq"] for m in history["messages"]] == [1, 2, 3, 4, 5, 6]


async def test_the_outbox_survives_closing_the_tab_while_offline(
    server: RunningServer, visitor, staff
) -> None:
    robin = await staff("Robin")
    page = await new_chat(visitor, server)
    conv = await conversation_id(page, server)
    await visitor.set_offline(True)
    await send(page, "Written on the train")
    await expect(page.locator(".msg.pending")).to_have_count(1)
    await page.close()
    await visitor.set_offline(False)

    later = await visitor.new_page()
    await later.goto(f"{server.url}/demo/")

    async def delivered() -> dict | None:
        history = await robin.ok("history", {"conversation_id": conv})
        return history if history["messages"] else None

    history = await eventually(delivered)
    assert [m["body"] for m in history["messages"]] == ["Written on the train"]


async def test_a_refused_visitor_token_starts_over_as_a_new_visitor(
    server: RunningServer, visitor, staff
) -> None:
    await staff()
    page = await visitor.new_page()
    await page.goto(f"{server.url}/demo/")
    # A token this server cannot verify (say, after its secret changed).
    await page.evaluate(
        "key => localStorage.setItem(key, JSON.stringify({token: 'p1.forged.token', customerId: null}))",
        f"parley:v1:{server.url}:visitor",
    )
    await page.reload()
    await page.locator(".launcher").click()
    await start_chat(page)
    await send(page, "Still works")
    await expect(page.locator(".msg.out .state")).to_have_attribute("data-status", "sent")
    token = (
        await page.evaluate(
            "key => JSON.parse(localStorage.getItem(key))", f"parley:v1:{server.url}:visitor"
        )
    )["token"]
    assert token != "p1.forged.token" and token.startswith("p1.")


async def test_a_websocket_only_deployment(servers, visitor, staff) -> None:
    server = await servers.start(websocket_only=True)
    robin = await staff(on=server)
    page = await visitor.new_page()
    transports: list[str] = []
    page.on(
        "request", lambda r: transports.append("polling") if "transport=polling" in r.url else None
    )
    page.on("websocket", lambda ws: transports.append("websocket"))
    await open_demo(page, server)
    await start_chat(page)
    conv = await conversation_id(page, server)
    await robin.ok("join", {"conversation_id": conv})
    await send(page, "Over a websocket only")
    got = await robin.log.wait_for("message")
    assert got[0]["body"] == "Over a websocket only"
    assert "websocket" in transports and "polling" not in transports


async def test_reading_in_one_tab_clears_the_unread_count_in_the_others(
    server: RunningServer, visitor, staff
) -> None:
    robin = await staff("Robin")
    first, conv = await chat_joined_by(visitor, server, robin)
    second = await visitor.new_page()
    await second.goto(f"{server.url}/demo/")
    await first.locator(".head .icon-btn").click()  # both closed now
    await robin.ok("send_message", {"conversation_id": conv, "client_id": "a1", "body": "Ping"})
    for page in (first, second):
        await expect(page.locator(".badge")).to_have_text("1")
    await second.locator(LAUNCHER).click()
    await expect(second.locator(".badge")).to_be_hidden()
    await expect(first.locator(".badge")).to_be_hidden()
