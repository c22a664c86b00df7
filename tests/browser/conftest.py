"""Browser tests: the built widget in real Chromium (Playwright's async API), against a real
Parley server per test.

Playwright's sync API cannot run inside the running asyncio loop that pytest-asyncio gives
every test here, so these fixtures drive the async API directly instead of pytest-playwright's
sync fixtures.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from tests.support import Client, RunningServer, Servers, agent, agent_token

ROOT = Path(__file__).resolve().parents[2]
WIDGET_DIR = ROOT / "widget"
BUNDLE = ROOT / "server" / "static" / "widget" / "widget.js"
CONSOLE_DIR = ROOT / "agent_console"
CONSOLE_PAGE = ROOT / "server" / "static" / "console" / "index.html"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("PARLEY_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.browser


def _missing(reason: str) -> None:
    # The test command installs everything the browser tests need; anything missing is a
    # failure to report, never a silently skipped check.
    pytest.fail(f"{reason} (run the README's test command, which installs it)")


def _sources_newer_than(built_file: Path, project: Path) -> bool:
    if not built_file.exists():
        return True
    built = built_file.stat().st_mtime
    sources = [project / "package.json", project / "package-lock.json", project / "build.mjs"]
    sources += list((project / "src").rglob("*"))
    return any(path.stat().st_mtime > built for path in sources if path.is_file())


def _build(project: Path, built_file: Path) -> Path:
    """(Re)build a front end when its sources changed since the last build."""
    if _sources_newer_than(built_file, project):
        npm = shutil.which("npm")
        if npm is None:
            _missing("npm is not installed; `make test` installs what the browser tests need")
        assert npm is not None
        if not (project / "node_modules").is_dir():
            subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=project, check=True)
        subprocess.run([npm, "run", "build"], cwd=project, check=True)
    return built_file


@pytest.fixture(scope="session")
def widget_bundle() -> Path:
    """The built widget."""
    return _build(WIDGET_DIR, BUNDLE)


@pytest.fixture(scope="session")
def console_bundle(widget_bundle: Path) -> Path:
    """The built agent console (its page; the assets sit beside it). The server only serves
    /static/console/ when the folder exists as it starts, so this runs before any server."""
    return _build(CONSOLE_DIR, CONSOLE_PAGE)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not Path(CHROMIUM).exists():
        _missing(f"{CHROMIUM} is missing; `make test` installs Debian's chromium")
    return CHROMIUM


@pytest_asyncio.fixture(scope="session")
async def chromium(widget_bundle: Path, chromium_path: str) -> AsyncIterator[object]:
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        _missing("playwright is not installed; `make test` installs the test extras")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium_path, args=CHROMIUM_ARGS
        )
        yield browser
        await browser.close()


@pytest_asyncio.fixture
async def visitor(chromium, servers: Servers) -> AsyncIterator[object]:  # type: ignore[no-untyped-def]
    """One visitor's browser (a fresh profile: its own storage), on a desktop-sized screen."""
    ctx = await chromium.new_context(viewport={"width": 1280, "height": 800})
    ctx.set_default_timeout(10_000)
    yield ctx
    await ctx.close()


@pytest_asyncio.fixture
async def staff(servers: Servers) -> AsyncIterator[Callable[..., Awaitable[Client]]]:
    """Signs agents in on real sockets; every one is disconnected after the test, pass or fail
    (an open socket would hold the server's shutdown until its ping timeout)."""
    clients: list[Client] = []

    async def connect(
        name: str = "Robin",
        on: RunningServer | None = None,
        teams: tuple[str, ...] = ("support",),
        max_chats: int | None = None,
    ) -> Client:
        target = on or await servers.first()
        _, token = await agent_token(target, name=name, teams=teams, max_chats=max_chats)
        client = await agent(target.url, token)
        clients.append(client)
        return client

    yield connect
    for client in clients:
        await client.close()


class HostSite:
    """A customer's website on its own origin (another port), embedding the widget."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.pages: dict[str, str] = {}

    def page(self, path: str, html: str) -> str:
        self.pages[path] = html
        return f"{self.url}{path}"


@pytest_asyncio.fixture
async def host() -> AsyncIterator[HostSite]:
    from aiohttp import web

    from tests.support import free_port

    port = free_port()
    site = HostSite(f"http://localhost:{port}")

    async def serve(request: web.Request) -> web.Response:
        html = site.pages.get(request.path)
        if html is None:
            raise web.HTTPNotFound()
        return web.Response(text=html, content_type="text/html")

    app = web.Application()
    app.router.add_get("/{tail:.*}", serve)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "localhost", port).start()
    yield site
    await runner.cleanup()


@pytest.fixture(scope="session")
def artifacts() -> Iterator[Path]:
    ARTIFACTS.mkdir(exist_ok=True)
    yield ARTIFACTS
