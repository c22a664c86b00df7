"""Sign-in throttling holds under concurrency: attempts are reserved before passwords are checked."""

from __future__ import annotations

import asyncio
import collections

import aiohttp

from tests.support import PASSWORD, RunningServer, create_agent


async def _attempt(http: aiohttp.ClientSession, url: str, email: str, password: str) -> int:
    async with http.post(url, json={"email": email, "password": password}) as response:
        body = await response.json()
        if response.status == 429:
            assert body["error"]["code"] == "rate_limited"
            assert int(response.headers["Retry-After"]) >= 1
        return response.status


async def test_200_concurrent_guesses_check_at_most_5_passwords(server: RunningServer) -> None:
    email = "target@example.test"
    await create_agent(server.settings.database_url, email=email)
    url = f"{server.url}/api/v1/auth/login"
    connector = aiohttp.TCPConnector(limit=200)
    async with aiohttp.ClientSession(connector=connector) as http:
        statuses = await asyncio.gather(
            *(_attempt(http, url, email, f"guess-{n}") for n in range(200))
        )
        assert collections.Counter(statuses) == {401: 5, 429: 195}
        # Still locked for the right password: the window has not passed.
        assert await _attempt(http, url, email, PASSWORD) == 429


async def test_the_right_password_in_a_burst_is_checked_only_within_the_limit(
    server: RunningServer,
) -> None:
    email = "burst@example.test"
    await create_agent(server.settings.database_url, email=email)
    url = f"{server.url}/api/v1/auth/login"
    passwords = [f"guess-{n}" for n in range(199)]
    passwords.insert(100, PASSWORD)
    connector = aiohttp.TCPConnector(limit=200)
    async with aiohttp.ClientSession(connector=connector) as http:
        statuses = collections.Counter(
            await asyncio.gather(*(_attempt(http, url, email, p) for p in passwords))
        )
    # Five reservations per window; a success gives its own back, so at most one more check.
    assert statuses[401] <= 5
    assert statuses[200] + statuses[401] <= 6
    assert statuses[429] == 200 - statuses[200] - statuses[401]


async def test_a_successful_sign_in_does_not_count(server: RunningServer) -> None:
    email = "regular@example.test"
    await create_agent(server.settings.database_url, email=email)
    url = f"{server.url}/api/v1/auth/login"
    async with aiohttp.ClientSession() as http:
        for _ in range(server.settings.login_max_failures_per_account + 3):
            assert await _attempt(http, url, email, PASSWORD) == 200
        for _ in range(server.settings.login_max_failures_per_account):
            assert await _attempt(http, url, email, "wrong") == 401
        assert await _attempt(http, url, email, PASSWORD) == 429
