"""The assistant's state in PostgreSQL: who owns a conversation, the answer in flight, the turn
count, and the assistant_events history (outcomes, hand-over reasons, token usage).

Every change of owner locks the conversation row first, the same row parley_post locks,
so an owner change and a guarded post always see each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

import asyncpg

from ..core.models import Conversation, ConversationStatus, Owner
from .conversations import _COLUMNS
from .rows import to_struct


@dataclass(frozen=True, slots=True)
class OwnerState:
    conversation_id: UUID
    customer_id: UUID
    team_id: UUID | None
    status: ConversationStatus
    owner: Owner
    assigned_agent_id: UUID | None
    waiting: bool
    run: UUID | None
    turns: int
    handoff_reason: str | None

    @property
    def open(self) -> bool:
        return self.status is ConversationStatus.OPEN

    @property
    def assistant_answers(self) -> bool:
        """Open, the assistant's, and no person assigned: the assistant may speak here."""
        return self.open and self.owner is Owner.ASSISTANT and self.assigned_agent_id is None

    @property
    def assistant_took_part(self) -> bool:
        """The assistant owns it, or stepped back and nobody has taken over since."""
        return self.owner is Owner.ASSISTANT or self.handoff_reason is not None


_STATE = """
    SELECT id, customer_id, team_id, status, owner, assigned_agent_id, waiting, assistant_run,
           assistant_turns, handoff_reason
      FROM conversations WHERE id = $1
"""


def _state(row: asyncpg.Record) -> OwnerState:
    return OwnerState(
        row["id"], row["customer_id"], row["team_id"], ConversationStatus(row["status"]),
        Owner(row["owner"]), row["assigned_agent_id"], row["waiting"], row["assistant_run"],
        row["assistant_turns"], row["handoff_reason"],
    )  # fmt: skip


async def state(conn: asyncpg.Connection, conversation_id: UUID) -> OwnerState | None:
    row = await conn.fetchrow(_STATE, conversation_id)
    return _state(row) if row else None


async def lock_state(conn: asyncpg.Connection, conversation_id: UUID) -> OwnerState | None:
    """The owner state, with the conversation row locked until the transaction ends."""
    row = await conn.fetchrow(_STATE + " FOR UPDATE", conversation_id)
    return _state(row) if row else None


async def take(
    conn: asyncpg.Connection,
    conversation_id: UUID,
    *,
    team_id: UUID | None,
    max_turns: int,
    leave_queue: bool,
) -> Conversation | None:
    """The assistant becomes the owner of an open, unassigned conversation that has turns left.
    leave_queue: it answers first and the conversation waits for a hand-over, not in line."""
    row = await conn.fetchrow(
        f"""
        UPDATE conversations c
           SET owner = 'assistant',
               team_id = coalesce(c.team_id, $2),
               waiting = CASE WHEN $4 THEN false ELSE c.waiting END,
               handoff_reason = NULL,
               assistant_run = NULL,
               updated_at = now()
         WHERE c.id = $1 AND c.status = 'open' AND c.assigned_agent_id IS NULL
           AND c.assistant_turns < $3
        RETURNING {_COLUMNS}
        """,
        conversation_id,
        team_id,
        max_turns,
        leave_queue,
    )
    return to_struct(Conversation, row) if row else None


async def step_back(
    conn: asyncpg.Connection, conversation_id: UUID, reason: str
) -> Conversation | None:
    """The assistant stops answering; the conversation waits for a person. Call with the row
    locked (lock_state), in the same transaction."""
    row = await conn.fetchrow(
        f"""
        UPDATE conversations c
           SET owner = 'queue', assistant_run = NULL, handoff_reason = $2, updated_at = now()
         WHERE c.id = $1 AND c.owner = 'assistant'
        RETURNING {_COLUMNS}
        """,
        conversation_id,
        reason,
    )
    return to_struct(Conversation, row) if row else None


async def ask_for_person(
    conn: asyncpg.Connection, conversation_id: UUID, reason: str
) -> Conversation | None:
    """The customer wants a person: the conversation waits for one, unless one has it already.
    A conversation that was resolved or abandoned is open again (the caller routes it)."""
    row = await conn.fetchrow(
        f"""
        UPDATE conversations c
           SET owner = 'queue', assistant_run = NULL,
               handoff_reason = coalesce(c.handoff_reason, $2),
               status = 'open', resolved_at = NULL,
               assigned_agent_id = NULL, assigned_at = NULL, updated_at = now()
         WHERE c.id = $1 AND (c.status <> 'open' OR c.assigned_agent_id IS NULL)
        RETURNING {_COLUMNS}
        """,
        conversation_id,
        reason,
    )
    return to_struct(Conversation, row) if row else None


async def resolve(conn: asyncpg.Connection, conversation_id: UUID) -> Conversation | None:
    """Resolved at the customer's word: out of the line, no answer in flight."""
    row = await conn.fetchrow(
        f"""
        UPDATE conversations c
           SET status = 'resolved', resolved_at = now(), waiting = false,
               assistant_run = NULL, handoff_reason = NULL, updated_at = now()
         WHERE c.id = $1
        RETURNING {_COLUMNS}
        """,
        conversation_id,
    )
    return to_struct(Conversation, row) if row else None


async def begin_run(conn: asyncpg.Connection, conversation_id: UUID, run: UUID) -> bool:
    """Make `run` the answer in flight; call with the row locked. A run it replaces can no
    longer post."""
    result = await conn.execute(
        """
        UPDATE conversations SET assistant_run = $2, assistant_run_at = now()
         WHERE id = $1 AND owner = 'assistant' AND status = 'open'
           AND assigned_agent_id IS NULL
        """,
        conversation_id,
        run,
    )
    return str(result).endswith(" 1")


async def finish_run(
    conn: asyncpg.Connection, conversation_id: UUID, run: UUID, *, answered: bool
) -> None:
    """The run is over; an answer it posted counts as a turn."""
    await conn.execute(
        """
        UPDATE conversations
           SET assistant_run = NULL,
               assistant_turns = assistant_turns + CASE WHEN $3 THEN 1 ELSE 0 END
         WHERE id = $1 AND assistant_run = $2
        """,
        conversation_id,
        run,
        answered,
    )


async def abandoned_runs(conn: asyncpg.Connection, older_than_seconds: float) -> list[UUID]:
    """Answers in flight for longer than any answer may take: their process died. They are
    taken from the assistant (the caller tells the customer and puts them in line)."""
    rows = await conn.fetch(
        """
        UPDATE conversations
           SET owner = 'queue', assistant_run = NULL, handoff_reason = 'assistant_error',
               updated_at = now()
         WHERE assistant_run IS NOT NULL
           AND assistant_run_at < now() - make_interval(secs => $1)
           AND owner = 'assistant'
        RETURNING id
        """,
        older_than_seconds,
    )
    return [r["id"] for r in rows]


class TokenUsage(Protocol):
    @property
    def prompt_tokens(self) -> int: ...
    @property
    def completion_tokens(self) -> int: ...
    @property
    def total_tokens(self) -> int: ...
    @property
    def llm_calls(self) -> int: ...
    @property
    def model(self) -> str | None: ...


async def add_event(
    conn: asyncpg.Connection,
    conversation_id: UUID,
    kind: str,
    *,
    reason: str | None = None,
    mode: str | None = None,
    message_id: UUID | None = None,
    agent_id: UUID | None = None,
    usage: TokenUsage | None = None,
) -> None:
    await conn.execute(
        """
        INSERT INTO assistant_events (conversation_id, kind, reason, mode, message_id, agent_id,
                                      prompt_tokens, completion_tokens, total_tokens, llm_calls,
                                      model)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
        """,
        conversation_id,
        kind,
        reason,
        mode,
        message_id,
        agent_id,
        usage.prompt_tokens if usage else 0,
        usage.completion_tokens if usage else 0,
        usage.total_tokens if usage else 0,
        usage.llm_calls if usage else 0,
        usage.model if usage else None,
    )
