"""Agents signing in with a Supabase Auth session: verify, link or provision, issue a token."""

from __future__ import annotations

import time
from typing import Any

import asyncpg

from ..auth.supabase_tokens import JwksCache, SupabaseUser, SupabaseVerifier
from ..config import Settings
from ..core.errors import ErrorCode, ParleyError, unauthorized
from ..core.models import Agent, AgentPrincipal, AgentRole
from ..store import agent_links
from . import audit, routing
from .auth import LoginResult
from .context import Services, unit_of_work


def build_verifier(settings: Settings) -> SupabaseVerifier | None:
    if settings.agent_sign_in == "password":
        return None
    jwks = JwksCache(settings.supabase_jwks) if settings.supabase_jwks else None
    return SupabaseVerifier(
        issuer=settings.supabase_issuer,
        audience=settings.supabase_jwt_audience,
        jwks=jwks,
        secret=settings.supabase_jwt_secret,
    )


async def sign_in(services: Services, access_token: str) -> LoginResult:
    """A Parley agent token for a verified Supabase access token.

    The agent is the one linked to the token's user id, else the one with the token's
    verified email (linked from then on), else a new one where provisioning allows it. A
    deactivated agent is refused whatever Supabase says.
    """
    if services.supabase_auth is None:
        raise ParleyError(ErrorCode.FORBIDDEN, "sign-in with Supabase is not enabled")
    user = await services.supabase_auth.verify(access_token)
    created = False
    async with unit_of_work(services) as work:
        agent = await agent_links.by_supabase_user(work.conn, user.sub)
        if agent is None:
            agent, created = await _link_or_provision(services, work.conn, user)
            if agent is None:
                raise ParleyError(
                    ErrorCode.FORBIDDEN, "no Parley agent account for this Supabase user"
                )
            actor = AgentPrincipal(agent.id, agent.role, agent.display_name, frozenset())
            action = "agent.supabase_provision" if created else "agent.supabase_link"
            await audit.record(work, actor, action, "agent", agent.id, sub=user.sub)
    if created:
        await routing.register_agent(services, agent.id)
    if not agent.is_active:
        raise ParleyError(ErrorCode.FORBIDDEN, "this account is deactivated")
    ttl = services.settings.agent_token_ttl_seconds
    token = services.signer.issue("agent", agent.id, ttl_seconds=ttl)
    return LoginResult(token=token, expires_at=int(time.time()) + ttl, agent=agent)


async def _link_or_provision(
    services: Services, conn: asyncpg.Connection, user: SupabaseUser
) -> tuple[Agent | None, bool]:
    if user.email is None or not user.email_verified:
        raise unauthorized("the Supabase user has no verified email address")
    agent_id = await agent_links.lock_by_email(conn, user.email)
    if agent_id is not None:
        if not await agent_links.link(conn, agent_id, user.sub):
            raise ParleyError(
                ErrorCode.FORBIDDEN, "this agent account is linked to another Supabase user"
            )
        return await agent_links.by_supabase_user(conn, user.sub), False
    role = provisioned_role(services.settings, user)
    if role is None:
        return None, False
    name = user.email.split("@", 1)[0][:200] or user.email
    agent = await agent_links.provision(
        conn, email=user.email, display_name=name, role=role, user_id=user.sub
    )
    if agent is None:  # the same user signing in twice at once: the other one created it
        raise ParleyError(ErrorCode.CONFLICT, "the account was created meanwhile; try again")
    return agent, True


def provisioned_role(settings: Settings, user: SupabaseUser) -> AgentRole | None:
    """The role a Supabase user gets as a new agent, or None when not allowed in."""
    if settings.supabase_role_claim:
        value: Any = user.claims
        for part in settings.supabase_role_claim.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if value in ("agent", "admin"):
            return AgentRole(value)
    domain = (user.email or "").rpartition("@")[2].lower()
    if domain and domain in {d.lower() for d in settings.supabase_agent_domains}:
        return AgentRole.AGENT
    return None
