"""Attachments: pick a file, watch it upload, see it inline; the agent gets it too."""

from __future__ import annotations

import base64

from playwright.async_api import expect

from tests.browser.helpers import chat_joined_by
from tests.support import RunningServer

# A 1x1 PNG.
PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


async def test_pick_files_upload_with_progress_and_send_them(
    server: RunningServer, visitor, staff
) -> None:
    robin = await staff("Robin")
    page, conv = await chat_joined_by(visitor, server, robin)

    async with page.expect_file_chooser() as chooser:
        await page.locator(".composer .attach").click()
    await (await chooser.value).set_files(
        [
            {"name": "screenshot.png", "mimeType": "image/png", "buffer": PIXEL},
            {"name": "invoice.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 test"},
        ]
    )
    image = page.locator(".msg.out .media img")
    await expect(image).to_have_attribute("alt", "screenshot.png")
    await expect(page.locator(".msg.out .media a.file")).to_contain_text("invoice.pdf")
    # The inline image really loads from the server's signed link.
    await image.evaluate("img => img.decode()")
    assert await image.evaluate("img => img.naturalWidth") == 1

    got = await robin.log.wait_for("message", count=2)
    assert [m["attachments"][0]["filename"] for m in got] == ["screenshot.png", "invoice.pdf"]
    assert [m["body"] for m in got] == ["", ""]

    # Types the server does not accept are refused before uploading, with a clear message.
    async with page.expect_file_chooser() as chooser:
        await page.locator(".composer .attach").click()
    await (await chooser.value).set_files(
        [{"name": "tool.exe", "mimeType": "application/x-msdownload", "buffer": b"MZ"}]
    )
    await expect(page.locator(".alert")).to_contain_text("tool.exe")

    # The agent's attachment appears as a link in the widget.
    await robin.ok(
        "send_message", {"conversation_id": conv, "client_id": "a1", "body": "Here is your receipt"}
    )
    await expect(page.locator(".msg.in:not(.greeting) .bubble")).to_have_text(
        "Here is your receipt"
    )


async def test_files_dropped_on_the_panel_are_sent(server: RunningServer, visitor, staff) -> None:
    robin = await staff("Robin")
    page, _ = await chat_joined_by(visitor, server, robin)
    # A real drag from the desktop, as the browser delivers it: a DataTransfer with a file.
    transfer = await page.evaluate_handle(
        """bytes => {
            const data = new DataTransfer();
            data.items.add(new File([new Uint8Array(bytes)], "dropped.png", { type: "image/png" }));
            return data;
        }""",
        list(PIXEL),
    )
    body = page.locator(".panel")
    await body.dispatch_event("dragenter", {"dataTransfer": transfer})
    await expect(page.locator(".panel.dragging .drop")).to_be_visible()
    await body.dispatch_event("drop", {"dataTransfer": transfer})
    await expect(page.locator(".msg.out .media img")).to_have_attribute("alt", "dropped.png")
    got = await robin.log.wait_for("message")
    assert got[0]["attachments"][0]["content_type"] == "image/png"
