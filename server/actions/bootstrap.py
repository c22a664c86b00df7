"""First start: a default team and demo accounts, created once, credentials shown once."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass

import asyncpg

from ..auth import passwords
from ..core.models import AgentRole
from ..store import agents as agent_store
from ..store import locks
from ..store import teams as team_store

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DemoAccount:
    email: str
    password: str
    role: AgentRole


async def ensure_default_team(conn: asyncpg.Connection) -> None:
    await team_store.ensure_default(conn)


async def create_demo_accounts(pool: asyncpg.Pool) -> list[DemoAccount]:
    """Create an admin and an agent when there are no agents at all. Returns what it created
    (empty when accounts already existed), so only the process that created them prints them."""
    async with pool.acquire() as conn, conn.transaction():
        await locks.bootstrap(conn)
        await ensure_default_team(conn)
        if await agent_store.count(conn):
            return []
        created = []
        for email, name, role in (
            ("admin@parley.local", "Ada Admin", AgentRole.ADMIN),
            ("agent@parley.local", "Sam Agent", AgentRole.AGENT),
        ):
            password = secrets.token_urlsafe(12)
            agent = await agent_store.create(
                conn,
                email=email,
                display_name=name,
                role=role,
                password_hash=await passwords.hash_password(password),
            )
            await team_store.join_default(conn, agent.id)
            created.append(DemoAccount(email, password, role))
        return created
