"""The first screen of `parley serve`: printed once the server answers /readyz."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
from pathlib import Path

from aiohttp import web

from .actions.bootstrap import DemoAccount
from .api.health import is_ready, readiness
from .api.keys import DEMO_ACCOUNTS, SETTINGS
from .config import Settings

log = logging.getLogger(__name__)

_RULE = "─" * 72


def resolve_secret(settings: Settings) -> str:
    """The token secret: configured, or generated once and kept in the data directory."""
    if settings.secret_key:
        return settings.secret_key
    path = Path(settings.data_dir).resolve() / "secret_key"
    if settings.database_url:
        # A deployment: its processes must share one key, and a file on one machine is not that.
        log.warning(
            "PARLEY_SECRET_KEY is not set: tokens are signed with a key kept in %s. Every process "
            "of a deployment must share one key, or visitors and agents get signed out when they "
            "reach another process: set PARLEY_SECRET_KEY (a long random string) everywhere.",
            path,
        )
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(secret)
    if not settings.database_url:
        log.info("generated the token signing key in %s (set PARLEY_SECRET_KEY to choose)", path)
    return secret


def first_screen(settings: Settings, demo_accounts: list[DemoAccount]) -> str:
    """The banner: where to go, the one-time demo credentials, and what to do next."""
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    base = f"http://{host}:{settings.port}"
    lines = [
        _RULE,
        "  Parley is running (PostgreSQL and Redis answer /readyz).",
        "",
        f"  Demo page      {base}/demo/     a sample site with the chat widget",
        f"  Agent console  {base}/console/",
        f"  API docs       {base}/api/v1/openapi.json",
        f"  Health         {base}/readyz",
    ]
    if demo_accounts:
        lines += ["", "  Demo accounts, created on this first start. Copy the passwords now:"]
        lines += [f"    {a.role.value:<6} {a.email}  password: {a.password}" for a in demo_accounts]
        lines += [
            "  They are shown only this once and are NOT stored anywhere: the database keeps",
            "  only their hashes, and Parley writes them to no file and no log. (Where this",
            "  screen itself is captured, e.g. by journald, change them after signing in.)",
        ]
    lines += [
        "",
        "  Next: open the demo page and start a chat, then answer it in the console.",
        "  Production (your own PostgreSQL and Redis, several processes): docs/deploy.md.",
        "  Stop with Ctrl+C.",
        _RULE,
    ]
    return "\n".join(lines)


def announce_when_ready(app: web.Application) -> asyncio.Task[None]:
    """Once listening: print the first screen as soon as the readiness checks pass."""
    return asyncio.get_running_loop().create_task(_announce(app))


async def _announce(app: web.Application) -> None:
    while True:
        checks = await readiness(app)
        if is_ready(checks):
            break
        log.warning("not ready yet: %s", checks)
        await asyncio.sleep(1)
    print(first_screen(app[SETTINGS], app.get(DEMO_ACCOUNTS, [])), flush=True)
