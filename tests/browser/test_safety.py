"""Nothing a customer, agent, article or assistant writes can run script in the widget."""

from __future__ import annotations

from playwright.async_api import expect

from tests.browser.helpers import (
    conversation_id,
    open_demo,
    send,
    start_chat,
    store_assistant_message,
)
from tests.support import RunningServer

PAYLOADS = [
    "<script>window.__xss = 'script'</script>",
    "<img src=x onerror=\"window.__xss = 'img'\">",
    "<svg onload=\"window.__xss = 'svg'\"></svg>",
    "[click me](javascript:window.__xss='md')",
    "javascript:window.__xss='bare'",
    'https://example.com/"><img src=x onerror="window.__xss=\'attr\'">',
    "<a href=\"javascript:window.__xss='a'\">link</a>",
]
EVIL_NAME = "<img src=x onerror=\"window.__xss = 'name'\">Mallory"


async def test_payloads_in_bodies_names_and_citations_render_as_text(
    server: RunningServer, visitor, staff
) -> None:
    mallory = await staff(EVIL_NAME)
    page = await visitor.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))
    await open_demo(page, server)
    await start_chat(page, name="<b onmouseover=\"window.__xss='customer'\">Casey</b>")
    conv = await conversation_id(page, server)
    await mallory.ok("join", {"conversation_id": conv})
    await send(page, "<script>window.__xss = 'own'</script> and https://example.com/a?b=1&c=<x>")
    await mallory.log.wait_for("message")
    for index, payload in enumerate(PAYLOADS):
        await mallory.ok(
            "send_message", {"conversation_id": conv, "client_id": f"x{index}", "body": payload}
        )
    await mallory.ok("typing", {"conversation_id": conv, "typing": True})
    await store_assistant_message(
        server,
        conv,
        "See <b>this</b> article <img src=x onerror=\"window.__xss='assistant'\">",
        {
            "citations": [
                {
                    "slug": "refunds",
                    "title": "<img src=x onerror=\"window.__xss='citation'\">Refunds",
                    "url": "javascript:window.__xss='href'",
                },
                {
                    "slug": "plans",
                    "title": "Plans and pricing",
                    "url": "https://help.example/plans",
                },
            ],
        },
    )
    await page.reload()  # the stored assistant message arrives with the replay
    bubbles = page.locator(".log .msg:not(.greeting) .bubble")
    await expect(bubbles).to_have_count(len(PAYLOADS) + 2)

    shown = [t.strip() for t in await bubbles.all_inner_texts()]
    assert shown[1:-1] == PAYLOADS
    assert shown[-1] == "See <b>this</b> article <img src=x onerror=\"window.__xss='assistant'\">"
    # Only real http(s) URLs became links, and they open safely in a new tab.
    links = page.locator(".log .bubble a")
    hrefs = [await links.nth(i).get_attribute("href") for i in range(await links.count())]
    assert hrefs and all(h.startswith(("http://", "https://")) for h in hrefs)
    assert await page.locator(".log .bubble a[rel~=noopener]").count() == len(hrefs)
    # Citations: titles as text, a javascript: URL is not a link at all.
    citations = page.locator(".citations li")
    await expect(citations).to_have_count(2)
    assert (await citations.nth(0).inner_text()).startswith("<img src=x")
    assert await citations.nth(0).locator("a").count() == 0
    assert await citations.nth(1).locator("a").get_attribute("href") == "https://help.example/plans"
    # Names: the agent's name shows as text in the message list and the header.
    await expect(page.locator(".msg.in:not(.greeting) .who").first).to_contain_text("<img src=x")
    assert await page.locator(".log img, .head img").count() == 0

    assert await page.evaluate("window.__xss") is None
    assert dialogs == []
    # Nothing leaked into the host page either: the widget's nodes live in its shadow root.
    assert await page.evaluate("document.querySelectorAll('body img').length") == 0
