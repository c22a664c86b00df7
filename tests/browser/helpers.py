"""Driving the widget like a visitor does: through its launcher, forms and composer."""

from __future__ import annotations

import json
from typing import Any

from tests.support import RunningServer

# Playwright's CSS locators pierce open shadow roots, so these reach into the widget.
LAUNCHER = ".launcher"
PANEL = ".panel"
COMPOSER = ".composer textarea"


async def open_demo(page: Any, server: RunningServer) -> None:
    await page.goto(f"{server.url}/demo/")
    await page.locator(LAUNCHER).click()
    await page.locator(PANEL).wait_for(state="visible")


async def start_chat(page: Any, name: str = "Casey", email: str = "casey@example.com") -> None:
    """Fill the pre-chat form, which starts the conversation."""
    await page.locator(".prechat input[name=name]").fill(name)
    await page.locator(".prechat input[name=email]").fill(email)
    await page.locator(".prechat button[type=submit]").click()
    await page.locator(COMPOSER).wait_for(state="visible")


async def new_chat(context: Any, server: RunningServer, **who: str) -> Any:
    """A new page of `context` with the demo site open and a conversation started."""
    page = await context.new_page()
    await open_demo(page, server)
    await start_chat(page, **who)
    return page


async def chat_joined_by(context: Any, server: RunningServer, agent: Any) -> tuple[Any, str]:
    """A customer's new chat in a page of `context`, followed by `agent` (a socket client)."""
    page = await new_chat(context, server)
    conv = await conversation_id(page, server)
    await agent.ok("join", {"conversation_id": conv})
    return page, conv


async def send(page: Any, text: str) -> None:
    await page.locator(COMPOSER).fill(text)
    await page.locator(COMPOSER).press("Enter")


async def texts(page: Any, selector: str = ".log .msg:not(.greeting) .bubble") -> list[str]:
    return [t.strip() for t in await page.locator(selector).all_inner_texts()]


async def stored(page: Any, server: RunningServer, key: str) -> Any:
    raw = await page.evaluate("key => localStorage.getItem(key)", f"parley:v1:{server.url}:{key}")
    return json.loads(raw) if raw else None


async def conversation_id(page: Any, server: RunningServer) -> str:
    """The conversation the widget follows, once it has one."""
    key = f"parley:v1:{server.url}:conversation"
    await page.wait_for_function("key => localStorage.getItem(key) !== null", arg=key)
    saved = await stored(page, server, "conversation")
    return str(saved["id"])


async def store_assistant_message(
    server: RunningServer, conversation: str, body: str, metadata: dict[str, Any]
) -> int:
    """Store a message from the AI assistant with metadata of the test's choosing (payloads the
    real pipeline would refuse to produce).

    It goes through the same SQL function as every message, into the system of record; the
    server then delivers it to the widget through its real replay path on the next resume.
    """
    import uuid

    from server.core.models import SenderKind, Visibility
    from server.store import messages as message_store
    from server.store.db import create_pool

    pool = await create_pool(server.settings.database_url, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            result = await message_store.post(
                conn,
                conversation_id=uuid.UUID(conversation),
                sender_kind=SenderKind.ASSISTANT,
                sender_id=None,
                client_id=None,
                body=body,
                visibility=Visibility.PUBLIC,
                metadata=metadata,
                attachment_ids=[],
            )
    finally:
        await pool.close()
    return result.seq
