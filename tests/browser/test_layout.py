"""How the widget looks: desktop panel, full screen on phones, isolation from the site's CSS.
Screenshots go to test-artifacts/ for people to look at."""

from __future__ import annotations

from playwright.async_api import expect

from tests.browser.helpers import (
    COMPOSER,
    LAUNCHER,
    PANEL,
    conversation_id,
    open_demo,
    send,
    start_chat,
)
from tests.support import RunningServer


async def _conversation(page, server: RunningServer, robin) -> None:  # type: ignore[no-untyped-def]
    await start_chat(page)
    conv = await conversation_id(page, server)
    await robin.ok("join", {"conversation_id": conv})
    await send(page, "Hi! Can I move my booking page to another team?")
    await robin.log.wait_for("message")
    await robin.ok(
        "send_message",
        {
            "conversation_id": conv,
            "client_id": f"a-{conv}",
            "body": "Sure! Open Booking pages → Settings → Owner and pick the team. More at https://help.example/transfer",
        },
    )
    await robin.ok("mark_read", {"conversation_id": conv, "seq": 1})
    await send(page, "Perfect, thanks a lot!")
    await robin.ok("typing", {"conversation_id": conv, "typing": True})
    await expect(page.locator(".typing")).to_be_visible()


async def test_desktop_and_phone_layouts(chromium, server: RunningServer, staff, artifacts) -> None:  # type: ignore[no-untyped-def]
    robin = await staff("Robin")
    desktop = await chromium.new_context(viewport={"width": 1280, "height": 800})
    phone = await chromium.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    try:
        page = await desktop.new_page()
        await page.goto(f"{server.url}/demo/")
        await page.screenshot(
            path=str(artifacts / "widget-desktop-closed.png"), animations="disabled"
        )
        await page.locator(LAUNCHER).click()
        await page.locator(PANEL).wait_for(state="visible")
        await page.screenshot(
            path=str(artifacts / "widget-desktop-prechat.png"), animations="disabled"
        )
        await _conversation(page, server, robin)
        box = await page.locator(PANEL).bounding_box()
        assert box is not None and box["width"] == 384 and box["x"] + box["width"] <= 1280 - 16
        await page.screenshot(
            path=str(artifacts / "widget-desktop-open.png"), animations="disabled"
        )

        mobile = await phone.new_page()
        await open_demo(mobile, server)
        await _conversation(mobile, server, robin)
        # Full screen on a phone: the panel covers the viewport and the launcher steps aside.
        box = await mobile.locator(PANEL).bounding_box()
        assert box == {"x": 0, "y": 0, "width": 390, "height": 844}
        await expect(mobile.locator(LAUNCHER)).to_be_hidden()
        await mobile.screenshot(
            path=str(artifacts / "widget-mobile-open.png"), animations="disabled"
        )
        await mobile.locator(".head .icon-btn").click()
        await expect(mobile.locator(LAUNCHER)).to_be_visible()
        await expect(mobile.locator(COMPOSER)).to_be_hidden()
    finally:
        await desktop.close()
        await phone.close()


async def test_the_sites_css_does_not_reach_the_widget(
    server: RunningServer, visitor, host
) -> None:
    hostile = f"""<!doctype html><html><head><style>
      * {{ font-family: "Comic Sans MS", cursive !important; color: red !important; }}
      button {{ background: yellow !important; width: 300px !important; border-radius: 0 !important; }}
      div, li, textarea {{ display: inline !important; padding: 40px !important; }}
    </style></head><body><p>Shop</p><script src="{server.url}/widget.js" async></script></body></html>"""
    page = await visitor.new_page()
    await page.goto(host.page("/", hostile))
    launcher = page.locator(LAUNCHER)
    await launcher.click()
    await page.locator(PANEL).wait_for(state="visible")
    style = await launcher.evaluate(
        "el => { const s = getComputedStyle(el); return [s.width, s.borderRadius, s.color] }"
    )
    assert style[0] == "60px" and style[1] == "50%" and style[2] != "rgb(255, 0, 0)"
    assert await page.locator(PANEL).evaluate("el => getComputedStyle(el).display") == "flex"
    # And the widget's CSS does not leak out: the page's paragraph keeps the page's colour.
    assert (
        await page.evaluate("getComputedStyle(document.querySelector('p')).color")
        == "rgb(255, 0, 0)"
    )
