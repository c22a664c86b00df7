"""Signing in: agent login with throttling, visitor tokens, and turning tokens into principals."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from .. import ids
from ..auth import passwords
from ..core.errors import ErrorCode, ParleyError, not_found, unauthorized
from ..core.models import Agent, AgentPrincipal, CustomerPrincipal
from ..routing.limits import Charge
from ..store import agents as agent_store
from .context import Services
from .degraded import optional


@dataclass(frozen=True, slots=True)
class LoginResult:
    token: str
    expires_at: int
    agent: Agent


async def login(
    services: Services, *, email: str, password: str, client_address: str
) -> LoginResult:
    settings = services.settings
    if settings.agent_sign_in == "supabase":
        raise ParleyError(
            ErrorCode.FORBIDDEN, "password sign-in is turned off; sign in with Supabase"
        )
    account_key = services.keys.login_failures_account(email)
    address_key = services.keys.login_failures_ip(client_address)
    limits = {
        account_key: settings.login_max_failures_per_account,
        address_key: settings.login_max_failures_per_ip,
    }
    # Reserved before the password is checked, in one Redis step: concurrent guesses cannot
    # all pass a check that only counts failures once they are known. While Redis is down,
    # sign-in works without throttling (docs/architecture.md, "Restarts and outages").
    wait = await optional(services, "login_throttle", services.login_limiter.reserve(limits), 0)
    if wait:
        raise ParleyError(
            ErrorCode.RATE_LIMITED,
            f"too many sign-in attempts; try again in {wait} seconds",
            details={"retry_after": wait},
        )
    async with services.db.acquire() as conn:
        found = await agent_store.get_with_hash_by_email(conn, email)
    ok = await services.hashing.verify(found[1] if found else None, password)
    if not ok or found is None:
        raise unauthorized("invalid email or password")
    agent, password_hash, version = found
    await optional(services, "login_release", services.login_limiter.release(list(limits)), None)
    if not agent.is_active:
        raise ParleyError(ErrorCode.FORBIDDEN, "this account is deactivated")
    if passwords.needs_rehash(password_hash):
        async with services.db.acquire() as conn:
            await agent_store.update_password_hash(
                conn, agent.id, await services.hashing.hash(password)
            )
    ttl = settings.agent_token_ttl_seconds
    token = services.signer.issue("agent", agent.id, ttl_seconds=ttl, version=version)
    return LoginResult(token=token, expires_at=int(time.time()) + ttl, agent=agent)


async def authenticate_agent(services: Services, token: object) -> AgentPrincipal:
    """An agent principal from a token. A deactivation or a password change (which moves the
    token version on) takes effect at once: the row is read on every check anyway."""
    claims = services.signer.verify(token, "agent")
    async with services.db.acquire() as conn:
        found = await agent_store.get_session(conn, claims.sub)
    if found is None or not found[0].is_active:
        raise unauthorized("account not found or deactivated")
    agent, version, team_ids = found
    if claims.ver != version:
        raise unauthorized("this session has ended; sign in again")
    return AgentPrincipal(
        agent_id=agent.id,
        role=agent.role,
        display_name=agent.display_name,
        team_ids=frozenset(team_ids),
    )


# Visitor tokens live as long as a browser keeps them; a year bounds a leaked one.
VISITOR_TOKEN_TTL = 365 * 24 * 3600


async def new_visitor(services: Services, client_address: str) -> tuple[str, CustomerPrincipal]:
    """A fresh anonymous visitor. No row is written until they start a conversation."""
    await services.limits.take(Charge("visitors_per_address", client_address))
    customer_id = ids.uuid4()
    return visitor_token(services, customer_id, 0), CustomerPrincipal(customer_id=customer_id)


async def authenticate_visitor(services: Services, token: object) -> CustomerPrincipal:
    """A visitor from a token; one issued before the visitor's identity was verified (and so
    before `identify` rotated it) no longer opens that customer."""
    claims = services.signer.verify(token, "visitor")
    if claims.ver != await services.visitor_versions.get(claims.sub):
        raise unauthorized("this visitor token was replaced; use the newer one")
    return CustomerPrincipal(customer_id=claims.sub)


async def signed_in_agent(services: Services, principal: AgentPrincipal) -> Agent:
    """The agent record behind a token (GET /api/v1/me)."""
    async with services.db.acquire() as conn:
        agent = await agent_store.get(conn, principal.agent_id)
    if agent is None:
        raise not_found("agent")
    return agent


def visitor_token(services: Services, customer_id: uuid.UUID, version: int) -> str:
    return services.signer.issue(
        "visitor", customer_id, ttl_seconds=VISITOR_TOKEN_TTL, version=version
    )
