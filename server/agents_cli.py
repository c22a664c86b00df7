"""`parley agents`: create, list, set passwords and lift lockouts from the server's shell.

Each command calls the same action as the REST API and is audited as "command line".
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

import redis.asyncio as redis_asyncio
import socketio

from .actions import accounts, staff
from .actions.audit import COMMAND_LINE
from .actions.context import Services
from .banner import resolve_secret
from .config import Settings
from .core.errors import ErrorCode, ParleyError
from .core.models import AgentRole
from .core.origins import AllowedOrigins
from .realtime.publisher import RelayPublisher
from .services import backing_services
from .store import agents as agent_store
from .store import routing as routing_store
from .store.db import create_pool
from .store.migrations import migrate_dsn


def register(commands: Any) -> None:
    """Add `agents` and its subcommands to the `parley` parser."""
    agents = commands.add_parser("agents", help="agent accounts")
    sub = agents.add_subparsers(dest="agents_command", required=True, metavar="COMMAND")
    create = sub.add_parser("create", help="create an account (prints a generated password)")
    create.add_argument("email")
    create.add_argument("--name", help="display name (default: the email's name part)")
    create.add_argument("--admin", action="store_true", help="give the account the admin role")
    create.add_argument(
        "--team",
        action="append",
        default=[],
        metavar="SLUG",
        help="a team to join (repeatable; default: the default team)",
    )
    create.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    sub.add_parser("list", help="every account with role, state and teams")
    set_password = sub.add_parser(
        "set-password", help="set an agent's password (their sessions end)"
    )
    set_password.add_argument("email")
    set_password.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    unlock = sub.add_parser("unlock", help="clear an agent's sign-in throttle")
    unlock.add_argument("email")


def run(args: argparse.Namespace, settings: Settings) -> int:
    commands: dict[str, Callable[[Services], Awaitable[int]]] = {
        "create": lambda s: _create(s, args),
        "list": _list,
        "set-password": lambda s: _set_password(s, args),
        "unlock": lambda s: _unlock(s, args.email),
    }
    # Before the embedded services fill in DATABASE_URL, as `parley serve` does: only a
    # configured one means a deployment, whose processes must share a configured key.
    settings = settings.with_overrides(secret_key=resolve_secret(settings))
    with backing_services(settings) as ready:
        try:
            return asyncio.run(_with_services(ready, commands[args.agents_command]))
        except ParleyError as exc:
            print(f"parley agents: {exc.message}", file=sys.stderr)
            return 1


async def _with_services(settings: Settings, command: Callable[[Services], Awaitable[int]]) -> int:
    from .lifecycle import build_services

    await migrate_dsn(settings.database_url)
    pool = await create_pool(settings.database_url, min_size=1, max_size=2)
    redis = redis_asyncio.Redis.from_url(settings.redis_url)
    # Sessions this command ends are closed on every running server, through their channel.
    relay = socketio.AsyncRedisManager(
        settings.redis_url, channel=f"{settings.redis_prefix}socketio", write_only=True
    )
    origins = AllowedOrigins(settings.allowed_origins)
    try:
        return await command(build_services(settings, pool, redis, RelayPublisher(relay), origins))
    finally:
        if getattr(relay, "redis", None) is not None:
            await relay.redis.aclose()
        await redis.aclose()
        await pool.close()


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("New password: ")
    if getpass.getpass("Again: ") != first:
        raise ParleyError(ErrorCode.VALIDATION_FAILED, "the passwords do not match")
    return first


async def _agent_id(services: Services, email: str) -> Any:
    async with services.db.acquire() as conn:
        agent = await agent_store.get_by_email(conn, email)
    if agent is None:
        raise ParleyError(ErrorCode.NOT_FOUND, f"no agent with the email {email}")
    return agent.id


async def _team_ids(services: Services, slugs: list[str]) -> list[UUID]:
    found = []
    async with services.db.acquire() as conn:
        wanted: list[str | None] = list(slugs) or [None]  # None: the default team
        for slug in wanted:
            team = await routing_store.team_by_slug_or_default(conn, slug)
            if team is None:
                raise ParleyError(ErrorCode.NOT_FOUND, f"no team {slug!r}")
            found.append(team.id)
    return found


async def _create(services: Services, args: argparse.Namespace) -> int:
    password = _read_password(True) if args.password_stdin else None
    new = staff.NewAgent(
        email=args.email,
        display_name=args.name or args.email.split("@", 1)[0],
        role=AgentRole.ADMIN if args.admin else AgentRole.AGENT,
        max_chats=None,
        team_ids=await _team_ids(services, args.team),
        password=password,
    )
    agent, generated = await staff.create_agent(services, COMMAND_LINE, new)
    print(f"created {agent['role']} {agent['email']} ({agent['id']})")
    if generated:
        print(f"password: {generated}  (shown once; the agent can change it in the console)")
    return 0


async def _list(services: Services) -> int:
    for agent in await staff.list_agents(services):
        state = "active" if agent["is_active"] else "deactivated"
        print(f"{agent['email']}\t{agent['role']}\t{state}\t{agent['display_name']}")
    return 0


async def _set_password(services: Services, args: argparse.Namespace) -> int:
    agent_id = await _agent_id(services, args.email)
    await accounts.set_password(
        services, COMMAND_LINE, agent_id, _read_password(args.password_stdin)
    )
    print(f"password set for {args.email}; their sessions have ended")
    return 0


async def _unlock(services: Services, email: str) -> int:
    await accounts.unlock(services, COMMAND_LINE, await _agent_id(services, email))
    print(f"{email} may sign in again")
    return 0
