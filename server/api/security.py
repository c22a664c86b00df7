"""Security headers on every response, and query strings checked before any route reads them."""

from __future__ import annotations

from urllib.parse import urlsplit

from aiohttp import web, web_response

from .errors import Handler
from .keys import SETTINGS
from .requests import check_query

# The Supabase project's origin the console may call ("": not signing in with Supabase).
SUPABASE_ORIGIN = web.AppKey("supabase_origin", str)

# No inline script anywhere; the console is never framed (clickjacking).
CONSOLE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob: https:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# The demo stands for a customer's site: its own inline styles, the widget's styles in its
# shadow root, and scripts only from files.
DEMO_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob: https:; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'self'"
)
# JSON, scripts and the rest are never documents to render or frame.
DEFAULT_POLICY = "default-src 'none'; frame-ancestors 'none'"
SERVER_NAME = "Parley"


def _policy_for(path: str, supabase_origin: str) -> str:
    if path.startswith(("/console", "/static/console/")):
        if supabase_origin:
            # Signing in with Supabase Auth: the console talks to the project's API itself.
            return CONSOLE_POLICY.replace(
                "connect-src 'self'", f"connect-src 'self' {supabase_origin}"
            )
        return CONSOLE_POLICY
    if path.startswith(("/demo", "/static/demo/")):
        return DEMO_POLICY
    return DEFAULT_POLICY


def _origin(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: runs for every response, files and websocket upgrades included.
    Headers a route chose itself (attachment downloads) are kept."""
    headers = response.headers
    policy = _policy_for(request.path, request.app[SUPABASE_ORIGIN])
    headers.setdefault("Content-Security-Policy", policy)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    if policy is not DEMO_POLICY:
        headers.setdefault("X-Frame-Options", "DENY")
    headers["Server"] = SERVER_NAME


@web.middleware
async def query_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A NUL in a query value would reach PostgreSQL as text it refuses."""
    check_query(request)
    return await handler(request)


def install(app: web.Application) -> None:
    settings = app[SETTINGS]
    origin = _origin(settings.supabase_url) if settings.supabase_anon_key else None
    app[SUPABASE_ORIGIN] = origin or ""
    app.on_response_prepare.append(add_security_headers)
    # aiohttp answers malformed HTTP (a bad request line or header) itself, before any app
    # signal runs, with its module-wide default Server value: that value names no version.
    web_response.SERVER_SOFTWARE = SERVER_NAME  # type: ignore[attr-defined]
