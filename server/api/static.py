"""The built widget and console, under stable URLs: /widget.js, /console/, /demo/."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from aiohttp import web


def _static_root() -> Path:
    # Shipped inside the package (a checkout or an installed wheel alike). The package is a folder
    # on disk in both cases, and aiohttp serves files from paths.
    return Path(str(resources.files("server").joinpath("static")))


STATIC_ROOT = _static_root()

_PLACEHOLDER = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Parley</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 4rem auto">
<h1>Parley</h1>
<p>The server is running. The {what} has not been built in this checkout yet.</p>
</body></html>
"""


def _page_or_placeholder(path: Path, what: str) -> web.StreamResponse:
    if path.is_file():
        return web.FileResponse(path, headers={"Cache-Control": "no-cache"})
    return web.Response(text=_PLACEHOLDER.format(what=what), content_type="text/html")


async def widget_script(request: web.Request) -> web.StreamResponse:
    path = STATIC_ROOT / "widget" / "widget.js"
    if path.is_file():
        return web.FileResponse(path, headers={"Cache-Control": "public, max-age=300"})
    return web.Response(
        text="console.warn('Parley widget is not built in this checkout');",
        content_type="application/javascript",
    )


async def console_page(request: web.Request) -> web.StreamResponse:
    return _page_or_placeholder(STATIC_ROOT / "console" / "index.html", "agent console")


async def demo_page(request: web.Request) -> web.StreamResponse:
    return _page_or_placeholder(STATIC_ROOT / "demo" / "index.html", "demo site")


async def root(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("/demo/")


def add_static_routes(app: web.Application) -> None:
    app.router.add_get("/", root)
    app.router.add_get("/widget.js", widget_script)
    app.router.add_get("/console", _to_slash)
    app.router.add_get("/console/", console_page)
    app.router.add_get("/demo", _to_slash)
    app.router.add_get("/demo/", demo_page)
    for name in ("widget", "console", "demo"):
        folder = STATIC_ROOT / name
        if not folder.is_dir():
            continue  # not built in this checkout
        app.router.add_static(f"/static/{name}/", folder, follow_symlinks=False)


async def _to_slash(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound(request.path + "/")
