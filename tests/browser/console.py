"""Driving the agent console like an agent does: signing in, the queue, the inbox, the composer."""

from __future__ import annotations

import uuid
from typing import Any

from playwright.async_api import expect

from server.core.models import AgentRole
from tests.support import PASSWORD, RunningServer, create_agent


async def new_agent(
    server: RunningServer,
    name: str,
    *,
    role: AgentRole = AgentRole.AGENT,
    teams: tuple[str, ...] = ("support",),
    max_chats: int | None = None,
) -> tuple[uuid.UUID, str]:
    email = f"{name.lower().replace(' ', '.')}.{uuid.uuid4().hex[:6]}@example.test"
    agent_id = await create_agent(
        server.settings.database_url,
        email=email,
        name=name,
        role=role,
        teams=teams,
        max_chats=max_chats,
    )
    return agent_id, email


async def sign_in(page: Any, server: RunningServer, email: str, password: str = PASSWORD) -> None:
    await page.goto(f"{server.url}/console/")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator(".topbar")).to_be_visible()
    await expect(page.locator("[data-testid=load]")).to_be_visible()


async def console_agent(
    context: Any, server: RunningServer, name: str, **kwargs: Any
) -> tuple[Any, uuid.UUID]:
    """A new agent signed in on a new page of the given browser context."""
    agent_id, email = await new_agent(server, name, **kwargs)
    page = await context.new_page()
    await sign_in(page, server, email)
    return page, agent_id


async def set_status(page: Any, status: str) -> None:
    await page.get_by_test_id("presence").select_option(status)
    await expect(page.locator(f".presence.{status}")).to_be_visible()


async def answered_by_the_assistant(agent_page: Any, server: RunningServer) -> tuple[Any, str]:
    """With the agent away, a customer asks and the assistant answers with citations: the
    customer's client and the conversation, ready to be taken over when the agent is back."""
    from tests.e2e.assistant_support import PASSWORD_QUESTION
    from tests.e2e.routing_support import waiting_customer

    await set_status(agent_page, "away")
    cust, conv = await waiting_customer(server, name="Casey")
    await cust.ok(
        "send_message", {"conversation_id": conv, "client_id": "c1", "body": PASSWORD_QUESTION}
    )
    await cust.log.wait_for(
        "message",
        lambda m: m["sender_kind"] == "assistant" and m["metadata"].get("citations"),
        timeout=10,
    )
    return cust, conv
