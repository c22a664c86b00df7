"""Typed application keys: what the aiohttp app holds."""

from __future__ import annotations

import asyncpg
import socketio
from aiohttp import web
from redis.asyncio import Redis

from ..actions.bootstrap import DemoAccount
from ..actions.context import Services
from ..assistant_runtime.service import Assistant
from ..config import Settings
from ..core.origins import AllowedOrigins
from ..observability.metrics import Metrics
from ..realtime.drain import Drain

SETTINGS = web.AppKey("settings", Settings)
SERVICES = web.AppKey("services", Services)
SOCKETS = web.AppKey("sockets", socketio.AsyncServer)
ASSISTANT = web.AppKey("assistant", Assistant)
ORIGINS = web.AppKey("origins", AllowedOrigins)
DATABASE = web.AppKey("database", asyncpg.Pool)
REDIS = web.AppKey("redis", Redis)
METRICS = web.AppKey("metrics", Metrics)
# The demo accounts created on this start, for the first screen (only ever held in memory).
DEMO_ACCOUNTS = web.AppKey("demo_accounts", list[DemoAccount])
DRAIN = web.AppKey("drain", Drain)
