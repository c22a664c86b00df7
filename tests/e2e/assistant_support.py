"""Helpers for the assistant participant's tests: a server where the assistant answers, a
small help center, a timeline of what a socket received, and PostgreSQL checks."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from server.actions.knowledge import KnowledgeBase
from server.actions.knowledge_import import import_files, read_sources
from server.api.keys import SERVICES
from server.assistant.embeddings import shared_local_minilm
from server.assistant.retrieval_eval import DEMO_KB
from server.config import Settings
from server.store.db import _init_connection, create_pool
from tests.support import Client, RunningServer, start_server

ARTICLES = ("reset-password", "refund-policy", "two-factor-authentication")
PASSWORD_QUESTION = "How do I reset my password? I forgot it."
OFF_TOPIC = "What will the weather be like in Paris tomorrow?"


async def seed_help_center(database_url: str, slugs: tuple[str, ...] = ARTICLES) -> None:
    """A few demo articles, embedded with the real local model (loaded once per session)."""
    pool = await create_pool(database_url, min_size=1, max_size=2)
    try:
        sources, errors = read_sources([DEMO_KB / f"{slug}.md" for slug in slugs])
        assert not errors
        await import_files(KnowledgeBase(pool, shared_local_minilm()), sources)
    finally:
        await pool.close()


def assistant_options(**overrides: Any) -> dict[str, Any]:
    """Settings of a server whose assistant answers (the `server_options` of its tests)."""
    values: dict[str, Any] = {
        "assistant_mode": "when_no_agent",
        "routing_tick_seconds": 0.1,
        "reconcile_seconds": 3600,
        "unanswered_seconds": 0,
    }
    values.update(overrides)
    return values


async def assistant_server(settings: Settings, **overrides: Any) -> RunningServer:
    """A server started inside a test (tests that need several); stop it yourself."""
    await seed_help_center(settings.database_url)
    return await start_server(settings.with_overrides(**assistant_options(**overrides)))


def timeline(client: Client) -> list[tuple[str, Any]]:
    """Every event the client receives, in arrival order, across event names."""
    events: list[tuple[str, Any]] = []
    handlers = client.sio.handlers[client.namespace]
    for name, original in list(handlers.items()):

        async def record(data: Any, name: str = name, original: Any = original) -> None:
            events.append((name, data))
            await original(data)

        client.sio.on(name, record, namespace=client.namespace)
    return events


async def ask(client: Client, conversation_id: str, body: str) -> dict[str, Any]:
    return await client.ok(
        "send_message",
        {"conversation_id": conversation_id, "client_id": uuid.uuid4().hex, "body": body},
    )


def from_assistant(message: dict[str, Any]) -> bool:
    return message["sender_kind"] == "assistant"


def an_answer(message: dict[str, Any]) -> bool:
    return from_assistant(message) and "stream_id" in message["metadata"]


async def fetch(server: RunningServer, query: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(server.settings.database_url)
    try:
        await _init_connection(conn)
        return await conn.fetch(query, *args)
    finally:
        await conn.close()


async def state(server: RunningServer, conversation_id: str) -> asyncpg.Record:
    rows = await fetch(
        server,
        """
        SELECT status, owner, waiting, assigned_agent_id, assistant_run, assistant_turns,
               handoff_reason
          FROM conversations WHERE id = $1
        """,
        uuid.UUID(conversation_id),
    )
    return rows[0]


async def assistant_messages(server: RunningServer, conversation_id: str) -> list[asyncpg.Record]:
    return await fetch(
        server,
        """
        SELECT seq, body, metadata, visibility FROM messages
         WHERE conversation_id = $1 AND sender_kind = 'assistant' ORDER BY seq
        """,
        uuid.UUID(conversation_id),
    )


async def events_of(server: RunningServer, conversation_id: str) -> list[tuple[str, str | None]]:
    rows = await fetch(
        server,
        "SELECT kind, coalesce(reason, mode) AS detail FROM assistant_events"
        " WHERE conversation_id = $1 ORDER BY id",
        uuid.UUID(conversation_id),
    )
    return [(r["kind"], r["detail"]) for r in rows]


async def settled(server: RunningServer) -> None:
    """Wait until the assistant has finished whatever it started: after this, an answer that
    has not come is not coming (a fact to wait on, not a pause)."""
    await server.app[SERVICES].participant.settled()
