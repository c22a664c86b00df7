"""Signing in: agent login with throttling, visitor tokens, and turning tokens into principals."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from ..auth import passwords
from ..core.errors import ErrorCode, ParleyError, unauthorized
from ..core.models import Agent, AgentPrincipal, CustomerPrincipal
from ..store import agents as agent_store
from ..store import routing as routing_store
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
    account_key = services.keys.login_failures_account(email)
    address_key = services.keys.login_failures_ip(client_address)
    limits = {
        account_key: settings.login_max_failures_per_account,
        address_key: settings.login_max_failures_per_ip,
    }
    # While Redis is down, sign-in works without throttling (documented in docs/operations).
    wait = await optional(
        services, "login_throttle", services.login_limiter.retry_after(limits), 0
    )
    if wait:
        raise ParleyError(
            ErrorCode.RATE_LIMITED,
            f"too many failed sign-in attempts; try again in {wait} seconds",
            details={"retry_after": wait},
        )
    async with services.db.acquire() as conn:
        found = await agent_store.get_with_hash_by_email(conn, email)
        ok = await passwords.verify_password(found[1] if found else None, password)
        if not ok or found is None:
            await optional(
                services,
                "login_failure",
                services.login_limiter.record_failure([account_key, address_key]),
                None,
            )
            raise unauthorized("invalid email or password")
        agent, password_hash = found
        if not agent.is_active:
            raise ParleyError(ErrorCode.FORBIDDEN, "this account is deactivated")
        if passwords.needs_rehash(password_hash):
            await agent_store.update_password_hash(
                conn, agent.id, await passwords.hash_password(password)
            )
    await optional(services, "login_clear", services.login_limiter.clear(account_key), None)
    ttl = settings.agent_token_ttl_seconds
    token = services.signer.issue("agent", agent.id, ttl_seconds=ttl)
    return LoginResult(token=token, expires_at=int(time.time()) + ttl, agent=agent)


async def authenticate_agent(services: Services, token: object) -> AgentPrincipal:
    """An agent principal from a token; deactivated accounts lose access at once."""
    claims = services.signer.verify(token, "agent")
    async with services.db.acquire() as conn:
        agent = await agent_store.get(conn, claims.sub)
        team_ids = await routing_store.team_ids_of_agent(conn, claims.sub) if agent else []
    if agent is None or not agent.is_active:
        raise unauthorized("account not found or deactivated")
    return AgentPrincipal(
        agent_id=agent.id,
        role=agent.role,
        display_name=agent.display_name,
        team_ids=frozenset(team_ids),
    )


# Visitor tokens live as long as a browser keeps them; a year bounds a leaked one.
VISITOR_TOKEN_TTL = 365 * 24 * 3600


def new_visitor(services: Services) -> tuple[str, CustomerPrincipal]:
    """A fresh anonymous visitor. No row is written until they start a conversation."""
    customer_id = uuid.uuid4()
    token = services.signer.issue("visitor", customer_id, ttl_seconds=VISITOR_TOKEN_TTL)
    return token, CustomerPrincipal(customer_id=customer_id)


def authenticate_visitor(services: Services, token: object) -> CustomerPrincipal:
    claims = services.signer.verify(token, "visitor")
    return CustomerPrincipal(customer_id=claims.sub)
