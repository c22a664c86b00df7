"""Typed application keys: what the aiohttp app holds."""

from __future__ import annotations

import socketio
from aiohttp import web

from ..actions.context import Services
from ..assistant.service import Assistant
from ..config import Settings
from ..core.origins import AllowedOrigins
from ..realtime.drain import Drain

SETTINGS = web.AppKey("settings", Settings)
SERVICES = web.AppKey("services", Services)
SOCKETS = web.AppKey("sockets", socketio.AsyncServer)
ASSISTANT = web.AppKey("assistant", Assistant)
ORIGINS = web.AppKey("origins", AllowedOrigins)
DRAIN = web.AppKey("drain", Drain)
