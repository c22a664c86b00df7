"""The page's JavaScript API on a customer's own site (another origin): init in code, calls
queued before the script loads, identify with identity verification, events, German texts."""

from __future__ import annotations

import json

import asyncpg
from playwright.async_api import expect

from server.auth.identity import identity_hash
from tests.browser.helpers import COMPOSER, LAUNCHER, PANEL, send
from tests.e2e.routing_support import eventually

SECRET = "site-identity-secret-0123456789"


def host_page(server_url: str, init: dict) -> str:
    return f"""<!doctype html><html lang="de"><head><meta charset="utf-8"><title>Acme</title></head>
<body><h1>Acme</h1>
<script>
  window.events = [];
  window.Parley = window.Parley || [];
  Parley.push(["init", {json.dumps(init)}]);
  for (const name of ["open", "close", "unread", "message"]) {{
    Parley.push(["on", name, (payload) => events.push([name, payload && payload.body !== undefined ? payload.body : payload])]);
  }}
</script>
<script src="{server_url}/widget.js" data-parley-manual async></script>
</body></html>"""


async def test_init_identify_events_and_controls_from_the_page(
    servers, visitor, staff, host
) -> None:
    server = await servers.start(identity_secret=SECRET)
    robin = await staff("Robin", on=server)
    url = host.page(
        "/shop",
        host_page(
            server.url,
            {
                "server": server.url,
                "teamName": "Acme Hilfe",
                "color": "#0f766e",
                "user": {
                    "id": "user-42",
                    "name": "Kim",
                    "email": "kim@example.com",
                    "hash": identity_hash(SECRET, "user-42"),
                },
                "attributes": {"plan": "pro"},
            },
        ),
    )
    page = await visitor.new_page()
    await page.goto(url)
    # German from <html lang="de">; the page's own team name and colour.
    launcher = page.locator(LAUNCHER)
    await expect(launcher).to_have_attribute("aria-label", "Chat öffnen")
    assert (
        await launcher.evaluate("el => getComputedStyle(el).backgroundColor") == "rgb(15, 118, 110)"
    )

    await page.evaluate("Parley.open()")
    await page.locator(PANEL).wait_for(state="visible")
    await expect(page.locator(".head h2")).to_have_text("Acme Hilfe")
    # Identified visitors skip the pre-chat form.
    await expect(page.locator(COMPOSER)).to_be_visible()
    await expect(page.locator(COMPOSER)).to_have_attribute("placeholder", "Nachricht schreiben…")
    await send(page, "Hallo!")
    await expect(page.locator(".msg.out .state")).to_have_text("Gesendet")

    conn = await asyncpg.connect(server.settings.database_url)
    try:
        row = await conn.fetchrow(
            "SELECT c.id, cu.external_id, cu.identity_verified, cu.name, cu.email, cu.attributes FROM conversations c JOIN customers cu ON cu.id = c.customer_id"
        )
    finally:
        await conn.close()
    assert (row["external_id"], row["identity_verified"], row["name"], row["email"]) == (
        "user-42",
        True,
        "Kim",
        "kim@example.com",
    )
    assert json.loads(row["attributes"]) == {"plan": "pro", "user_id": "user-42"}
    conv = str(row["id"])

    # Closed: a message from the team counts as unread, on the launcher and for the page.
    await page.evaluate("Parley.close()")
    await robin.ok("join", {"conversation_id": conv})
    await robin.ok(
        "send_message", {"conversation_id": conv, "client_id": "a1", "body": "Hallo Kim!"}
    )
    await expect(page.locator(".badge")).to_have_text("1")
    await expect(launcher).to_have_attribute("aria-label", "Chat öffnen (1 ungelesene Nachrichten)")
    await expect(page).to_have_title("(1) Neue Nachricht")
    await page.evaluate("Parley.toggle()")
    await expect(page.locator(".badge")).to_be_hidden()
    await expect(page).to_have_title("Acme")
    events = await page.evaluate("events")
    assert ["open", None] in events and ["close", None] in events
    assert ["message", "Hallo!"] in events and ["message", "Hallo Kim!"] in events
    unread = [payload for name, payload in events if name == "unread"]
    assert unread[-2:] == [1, 0]

    # setAttributes merges into the customer while the conversation is open.
    await page.evaluate("Parley.setAttributes({cart: 3})")
    conn = await asyncpg.connect(server.settings.database_url)

    async def stored() -> dict | None:
        attributes = json.loads(
            await conn.fetchval("SELECT attributes FROM customers WHERE external_id = 'user-42'")
        )
        return attributes if "cart" in attributes else None

    try:
        attributes = await eventually(stored)
    finally:
        await conn.close()
    assert attributes == {"plan": "pro", "user_id": "user-42", "cart": 3}


async def test_a_wrong_identity_hash_is_not_trusted(servers, visitor, staff, host) -> None:
    server = await servers.start(identity_secret=SECRET)
    await staff(on=server)
    url = host.page(
        "/shop",
        host_page(
            server.url,
            {
                "server": server.url,
                "user": {
                    "id": "user-42",
                    "name": "Kim",
                    "hash": identity_hash("another-secret-0123456789", "user-42"),
                },
            },
        ),
    )
    page = await visitor.new_page()
    await page.goto(url)
    await page.evaluate("Parley.open()")
    await page.locator(PANEL).wait_for(state="visible")
    await send(page, "Bin ich Kim?")
    await expect(page.locator(".msg.out .state")).to_have_text("Gesendet")
    conn = await asyncpg.connect(server.settings.database_url)
    try:
        row = await conn.fetchrow("SELECT external_id, identity_verified FROM customers")
    finally:
        await conn.close()
    assert dict(row) == {"external_id": None, "identity_verified": False}


async def test_a_verified_user_continues_on_another_device(servers, chromium, staff, host) -> None:  # type: ignore[no-untyped-def]
    server = await servers.start(identity_secret=SECRET)
    await staff(on=server)
    url = host.page(
        "/app",
        host_page(
            server.url,
            {
                "server": server.url,
                "user": {"id": "user-7", "name": "Ali", "hash": identity_hash(SECRET, "user-7")},
            },
        ),
    )
    laptop, phone = await chromium.new_context(), await chromium.new_context()
    try:
        first = await laptop.new_page()
        await first.goto(url)
        await first.evaluate("Parley.open()")
        await send(first, "Angefangen am Laptop")
        await expect(first.locator(".msg.out .state")).to_have_text("Gesendet")

        # Another browser profile: a new anonymous visitor until the page identifies the user.
        second = await phone.new_page()
        await second.goto(url)
        await second.evaluate("Parley.open()")
        await expect(second.locator(".log .msg:not(.greeting) .bubble")).to_have_text(
            ["Angefangen am Laptop"]
        )
        await send(second, "Weiter am Handy")
        await expect(first.locator(".log .msg:not(.greeting) .bubble")).to_have_text(
            ["Angefangen am Laptop", "Weiter am Handy"]
        )
    finally:
        await laptop.close()
        await phone.close()
