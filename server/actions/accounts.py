"""Accounts: changing and resetting passwords, lifting a sign-in lockout, ending sessions.

Every change is audited in its own transaction, and a new password ends every session of the
account: the token version moves on (earlier tokens fail) and its sockets are told and closed.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from ..auth.password_policy import check_password
from ..core.errors import ErrorCode, ParleyError, not_found, unauthorized
from ..core.events import session_ended_event
from ..core.models import Agent, AgentPrincipal
from ..core.wire_events import SessionEndReason
from ..store import agents as agent_store
from ..store import password_resets as reset_store
from . import audit
from .context import Services, unit_of_work


@dataclass(frozen=True, slots=True)
class NewSession:
    """A fresh token for the account whose password just changed (its other sessions ended)."""

    token: str
    expires_at: int


def _principal(agent: Agent) -> AgentPrincipal:
    return AgentPrincipal(
        agent_id=agent.id, role=agent.role, display_name=agent.display_name, team_ids=frozenset()
    )


def _session(services: Services, agent_id: UUID, version: int) -> NewSession:
    ttl = services.settings.agent_token_ttl_seconds
    token = services.signer.issue("agent", agent_id, ttl_seconds=ttl, version=version)
    return NewSession(token=token, expires_at=int(time.time()) + ttl)


async def change_own_password(
    services: Services, principal: AgentPrincipal, *, current: str, new: str
) -> NewSession:
    """The agent proves the current password; the sign-in throttle counts the proof."""
    async with services.db.acquire() as conn:
        found = await agent_store.get_with_hash(conn, principal.agent_id)
    if found is None:
        raise not_found("agent")
    agent, password_hash = found
    check_password(new, min_length=services.settings.password_min_length, email=agent.email)
    account_key = services.keys.login_failures_account(agent.email)
    wait = await services.login_limiter.reserve(
        {account_key: services.settings.login_max_failures_per_account}
    )
    if wait:
        raise ParleyError(
            ErrorCode.RATE_LIMITED,
            f"too many attempts; try again in {wait} seconds",
            details={"retry_after": wait},
        )
    if not await services.hashing.verify(password_hash, current):
        raise ParleyError(
            ErrorCode.FORBIDDEN, "the current password is not right", details={"field": "current"}
        )
    await services.login_limiter.release([account_key])
    version = await _set_password(services, principal, agent, new, "agent.password_change")
    return _session(services, agent.id, version)


async def set_password(services: Services, actor: AgentPrincipal, agent_id: UUID, new: str) -> None:
    """An operator sets an agent's password (the command line); the agent's sessions end."""
    async with services.db.acquire() as conn:
        agent = await agent_store.get(conn, agent_id)
    if agent is None:
        raise not_found("agent")
    check_password(new, min_length=services.settings.password_min_length, email=agent.email)
    await _set_password(services, actor, agent, new, "agent.password_set")


async def _set_password(
    services: Services, actor: AgentPrincipal, agent: Agent, new: str, action: str
) -> int:
    new_hash = await services.hashing.hash(new)
    async with unit_of_work(services) as work:
        version = await agent_store.set_password(work.conn, agent.id, new_hash)
        if version is None:
            raise not_found("agent")
        await audit.record(work, actor, action, "agent", agent.id, email=agent.email)
        work.publish_on_commit(session_ended_event(agent.id, "password_changed"))
    return version


@dataclass(frozen=True, slots=True)
class ResetLink:
    token: str
    expires_at: datetime


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_reset_link(services: Services, admin: AgentPrincipal, agent_id: UUID) -> ResetLink:
    """A one-time link an admin hands to the agent; earlier links of that agent stop working."""
    token = secrets.token_urlsafe(32)
    async with unit_of_work(services) as work:
        agent = await agent_store.get(work.conn, agent_id)
        if agent is None:
            raise not_found("agent")
        expires_at = await reset_store.create(
            work.conn,
            token_hash=_digest(token),
            agent_id=agent_id,
            created_by=admin.agent_id,
            ttl_seconds=services.settings.password_reset_ttl_seconds,
        )
        await audit.record(
            work, admin, "agent.password_reset_link", "agent", agent_id, expires_at=expires_at
        )
    return ResetLink(token=token, expires_at=expires_at)


async def reset_password(services: Services, *, token: str, new: str) -> Agent:
    """Set a new password from a reset link: once, before it expires. Ends every session and
    lifts the account's sign-in lockout."""
    if not 20 <= len(token) <= 100:
        raise unauthorized("this reset link is not valid")
    new_hash: str | None = None
    async with unit_of_work(services) as work:
        agent_id = await reset_store.use(work.conn, _digest(token))
        if agent_id is None:
            raise unauthorized("this reset link is not valid, was used, or has expired")
        agent = await agent_store.get(work.conn, agent_id)
        assert agent is not None  # links are deleted with their agent
        check_password(new, min_length=services.settings.password_min_length, email=agent.email)
        new_hash = await services.hashing.hash(new)
        await agent_store.set_password(work.conn, agent_id, new_hash)
        await audit.record(work, _principal(agent), "agent.password_reset", "agent", agent_id)
        work.publish_on_commit(session_ended_event(agent_id, "password_changed"))
    await services.login_limiter.clear(services.keys.login_failures_account(agent.email))
    return agent


async def unlock(services: Services, actor: AgentPrincipal, agent_id: UUID) -> Agent:
    """Lift a sign-in lockout: the account's failure count starts over (audited)."""
    async with unit_of_work(services) as work:
        agent = await agent_store.get(work.conn, agent_id)
        if agent is None:
            raise not_found("agent")
        await audit.record(work, actor, "agent.unlock", "agent", agent_id, email=agent.email)
    await services.login_limiter.clear(services.keys.login_failures_account(agent.email))
    return agent


async def end_sessions(services: Services, agent_id: UUID, reason: SessionEndReason) -> None:
    """Every token of the agent stops working, and their sockets are told and closed."""
    async with unit_of_work(services) as work:
        if await agent_store.bump_token_version(work.conn, agent_id) is None:
            raise not_found("agent")
        work.publish_on_commit(session_ended_event(agent_id, reason))
