"""Unanswered chats in PostgreSQL: has the assigned agent written to the customer yet?

The unanswered-chat deadlines live in Redis; these queries let them be re-armed after Redis
lost them, and let a deadline check the truth before it moves a conversation.
"""

from __future__ import annotations

from uuid import UUID

import asyncpg

# The assigned agent has written to the customer since the assignment (`c` is the conversation).
_AGENT_REPLIED = """
    EXISTS (SELECT 1 FROM messages m
             WHERE m.conversation_id = c.id AND m.sender_kind = 'agent'
               AND m.sender_id = c.assigned_agent_id AND m.visibility = 'public'
               AND m.created_at >= c.assigned_at)
"""


async def unanswered_assignments(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """Open conversations whose agent has not written since being assigned: (id,
    assigned_agent_id, team_id, assigned_at), the subjects of unanswered-chat deadlines."""
    rows: list[asyncpg.Record] = await conn.fetch(
        f"""
        SELECT c.id, c.assigned_agent_id, c.team_id, c.assigned_at FROM conversations c
         WHERE c.status = 'open' AND c.assigned_agent_id IS NOT NULL
           AND c.assigned_at IS NOT NULL AND NOT {_AGENT_REPLIED}
        """
    )
    return rows


async def agent_has_replied(conn: asyncpg.Connection, conversation_id: UUID) -> bool:
    return bool(
        await conn.fetchval(
            f"SELECT {_AGENT_REPLIED} FROM conversations c WHERE c.id = $1", conversation_id
        )
    )
