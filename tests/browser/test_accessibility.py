"""Keyboard use, focus, ARIA roles, a live region for new messages, and readable contrast."""

from __future__ import annotations

from playwright.async_api import expect

from tests.browser.helpers import COMPOSER, LAUNCHER, PANEL, conversation_id, start_chat
from tests.support import RunningServer

# WCAG relative luminance and contrast, computed on the rendered colours.
CONTRAST = """
([selector, root]) => {
  const scope = root ? document.querySelector('[data-parley]').shadowRoot : document;
  const el = scope.querySelector(selector);
  if (!el) return null;
  const parse = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => [r, g, b].map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
      .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
  let node = el, background = null;
  while (node && node.nodeType === 1) {
    const c = parse(getComputedStyle(node).backgroundColor);
    if (c.length === 3 || (c.length === 4 && c[3] > 0.9)) { background = c.slice(0, 3); break; }
    node = node.parentNode instanceof ShadowRoot ? node.parentNode.host : node.parentNode;
  }
  background = background || [255, 255, 255];
  const fg = parse(getComputedStyle(el).color).slice(0, 3);
  const [a, b] = [lum(fg), lum(background)].sort((x, y) => y - x);
  return (a + 0.05) / (b + 0.05);
}
"""


async def test_keyboard_focus_roles_and_live_region(server: RunningServer, visitor, staff) -> None:
    robin = await staff("Robin")
    page = await visitor.new_page()
    await page.goto(f"{server.url}/demo/")
    launcher = page.locator(LAUNCHER)
    await expect(launcher).to_have_attribute("aria-expanded", "false")
    await launcher.focus()
    await page.keyboard.press("Enter")
    panel = page.locator(PANEL)
    await expect(panel).to_be_visible()
    await expect(panel).to_have_attribute("role", "dialog")
    await expect(panel).to_have_accessible_name("Support")
    await expect(launcher).to_have_attribute("aria-expanded", "true")
    # Focus moved into the panel: the first field of the pre-chat form.
    await expect(page.locator(".prechat input[name=name]")).to_be_focused()
    await page.keyboard.type("Casey")
    await page.keyboard.press("Tab")
    await page.keyboard.type("casey@example.com")
    await page.keyboard.press("Enter")
    await expect(page.locator(COMPOSER)).to_be_focused()
    await expect(page.locator(COMPOSER)).to_have_accessible_name("Message")
    conv = await conversation_id(page, server)
    await robin.ok("join", {"conversation_id": conv})
    await page.keyboard.type("Typed with the keyboard")
    await page.keyboard.press("Enter")
    await robin.log.wait_for("message")
    await robin.ok(
        "send_message", {"conversation_id": conv, "client_id": "a1", "body": "Heard you"}
    )
    # Screen readers hear messages from the team through a polite live region.
    await expect(page.locator("[aria-live=polite][aria-atomic=true]")).to_have_text(
        "Robin: Heard you"
    )
    await expect(page.locator(".log")).to_have_accessible_name("Messages")
    # Every control has a name.
    for selector, name in (
        (".composer .attach", "Attach a file"),
        (".composer .send", "Send"),
        (".head .icon-btn", "Close chat"),
    ):
        await expect(page.locator(selector)).to_have_accessible_name(name)
    # Escape closes the panel and gives the focus back to the launcher.
    await page.keyboard.press("Escape")
    await expect(panel).to_be_hidden()
    await expect(launcher).to_be_focused()
    await expect(launcher).to_have_attribute("aria-expanded", "false")


async def test_text_meets_contrast_minimums(server: RunningServer, visitor, staff) -> None:
    robin = await staff("Robin")
    page = await visitor.new_page()
    await page.goto(f"{server.url}/demo/")
    await page.locator(LAUNCHER).click()
    await start_chat(page)
    conv = await conversation_id(page, server)
    await robin.ok("join", {"conversation_id": conv})
    await page.locator(COMPOSER).fill("Mine")
    await page.locator(COMPOSER).press("Enter")
    await robin.ok("send_message", {"conversation_id": conv, "client_id": "a1", "body": "Theirs"})
    await expect(page.locator(".msg.in:not(.greeting) .bubble")).to_have_text("Theirs")
    checks = {
        ".head h2": 4.5,
        ".head p": 4.5,
        ".msg.out .bubble": 4.5,
        ".msg.in:not(.greeting) .bubble": 4.5,
        ".msg.in:not(.greeting) .who": 4.5,
        ".foot time": 4.5,
        ".foot .state": 4.5,
        ".composer textarea": 4.5,
    }
    for selector, minimum in checks.items():
        ratio = await page.evaluate(CONTRAST, [selector, True])
        assert ratio is not None, selector
        assert ratio >= minimum, (selector, ratio)
