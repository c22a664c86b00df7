"""`parley serve`'s first screen: after migrations and readiness, once, with the demo accounts."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

import aiohttp

from server.embedded import EmbeddedPostgres
from tests.conftest import test_settings as banner_settings
from tests.support import free_port, settings_environment

_END = "Stop with Ctrl+C."


async def _serve_until_first_screen(env: dict[str, str]) -> tuple[list[str], int]:
    """Start a server, return its output up to the end of the first screen, then stop it."""
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server",
        "serve",
        "--host",
        "127.0.0.1",
        env={**env, "PORT": str(port), "PYTHONUNBUFFERED": "1"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert process.stdout is not None
    lines: list[str] = []
    try:
        async with asyncio.timeout(60):
            while not lines or _END not in lines[-1]:
                line = await process.stdout.readline()
                assert line, f"server exited before its first screen: {lines}"
                lines.append(line.decode())
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/readyz") as response:
                ready = response.status
    finally:
        process.terminate()
        await process.wait()
    return lines, ready


def _kept_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file())


def _index(lines: list[str], text: str) -> int:
    found = [i for i, line in enumerate(lines) if text in line]
    assert len(found) == 1, (text, lines)
    return found[0]


async def test_first_screen_follows_migrations_and_shows_demo_passwords_only_once(
    embedded_postgres: EmbeddedPostgres, redis_url: str, tmp_path: Path
) -> None:
    settings = banner_settings(
        embedded_postgres.create_database("parley_banner"), redis_url, tmp_path
    )
    env = {
        **os.environ,
        **settings_environment(settings),
        "PARLEY_DEMO_ACCOUNTS": "true",
        "PARLEY_LOG_LEVEL": "INFO",
    }
    lines, ready = await _serve_until_first_screen(env)
    assert ready == 200
    running = _index(lines, "Parley is running")
    assert _index(lines, "applied migration 0007_assign") < running
    for route in ("/demo/ ", "/console/", "/api/v1/openapi.json"):
        assert _index(lines, route) > running
    passwords = [m[1] for line in lines if (m := re.search(r"password: (\S+)", line))]
    assert len(passwords) == 2, lines
    assert _index(lines, "NOT stored anywhere") > running
    # Not in any file Parley keeps (the data directory), as the screen says.
    kept = _kept_bytes(tmp_path)
    assert not any(password.encode() in kept for password in passwords)

    again, ready = await _serve_until_first_screen(env)
    assert ready == 200
    _index(again, "Parley is running")
    assert not any("password:" in line for line in again), again
    assert not any("applied migration" in line for line in again)
