"""What the customer widget needs to know before it shows itself: looks, texts, availability."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from ..core import widget_config
from ..core.business_hours import WeeklyHours
from ..core.models import AgentPrincipal, PresenceStatus
from ..core.routing import AssistantMode
from ..core.widget_config import WidgetOverrides
from ..store import settings as settings_store
from ..store import teams as team_store
from . import audit
from .assistant_owner import mode_for
from .context import Services, unit_of_work

SETTINGS_KEY = "widget"


def defaults(services: Services) -> dict[str, Any]:
    """What the environment says, in the shape admins edit."""
    s = services.settings
    return {
        "color": s.widget_color,
        "position": s.widget_position,
        "greeting": s.widget_greeting or None,
        "team_name": s.widget_team_name or None,
        "prechat_name": s.widget_prechat_name,
        "prechat_email": s.widget_prechat_email,
        "business_hours": s.widget_business_hours or None,
        "timezone": s.widget_timezone,
        "hours_text": s.widget_hours_text or None,
        "language": s.widget_language or None,
        "allowed_origins": list(s.allowed_origins),
    }


async def overrides(services: Services) -> WidgetOverrides:
    async with services.db.acquire() as conn:
        raw = await settings_store.get(conn, SETTINGS_KEY)
    try:
        return msgspec.convert(raw, WidgetOverrides)
    except msgspec.ValidationError:
        return WidgetOverrides()  # written by a newer version: fall back to the environment


def effective(services: Services, override: WidgetOverrides) -> dict[str, Any]:
    merged = defaults(services)
    merged.update({k: v for k, v in msgspec.structs.asdict(override).items() if v is not None})
    return merged


async def admin_view(services: Services) -> dict[str, Any]:
    override = await overrides(services)
    return {
        "overrides": msgspec.to_builtins(override),
        "defaults": defaults(services),
        "effective": effective(services, override),
    }


async def update_overrides(
    services: Services, admin: AgentPrincipal, new: WidgetOverrides
) -> dict[str, Any]:
    """Replace the admin overrides (None fields: the environment's value); audited."""
    clean = widget_config.check(new, services.settings.widget_timezone)
    before = await overrides(services)
    async with unit_of_work(services) as work:
        await settings_store.put(
            work.conn, SETTINGS_KEY, msgspec.to_builtins(clean), admin.agent_id
        )
        await audit.record(
            work,
            admin,
            "settings.widget.update",
            "settings",
            SETTINGS_KEY,
            before=msgspec.to_builtins(before),
            after=msgspec.to_builtins(clean),
        )
    apply(services, clean)
    return await admin_view(services)


def apply(services: Services, override: WidgetOverrides) -> None:
    """Settings held in process memory (the origin list) follow the overrides."""
    origins = override.allowed_origins
    services.origins.replace(tuple(origins) if origins else None)


async def apply_overrides(services: Services) -> None:
    """At start and periodically: pick up what an admin changed on any process."""
    apply(services, await overrides(services))


async def widget_settings(services: Services, *, now: datetime | None = None) -> dict[str, Any]:
    """The widget's settings (environment defaults, admin overrides on top) and whether anyone
    can answer now."""
    settings = services.settings
    config = effective(services, await overrides(services))
    hours = WeeklyHours.parse(config["business_hours"] or "", ZoneInfo(config["timezone"]))
    return {
        "color": config["color"],
        "position": config["position"],
        "greeting": config["greeting"],
        "team_name": config["team_name"] or await _default_team_name(services),
        "pre_chat": {
            "name": config["prechat_name"],
            "email": config["prechat_email"],
        },
        "business_hours": {
            "open_now": hours.is_open(now or datetime.now(UTC)),
            "always_open": hours.always_open,
            "schedule": config["business_hours"],
            "timezone": config["timezone"],
            "text": config["hours_text"],
        },
        "agents_available": await available_agent_count(services) > 0,
        "assistant_available": await assistant_available(services),
        "language": config["language"],
        "websocket_only": settings.websocket_only,
        "max_message_length": settings.max_message_length,
        # Typing indicators end this long after the last refresh; the widget refreshes sooner.
        "typing_timeout_seconds": settings.typing_timeout_seconds,
        "attachments": {
            "max_bytes": settings.attachment_max_bytes,
            "types": list(settings.attachment_content_types),
        },
        "identity_verification": bool(settings.identity_secret),
    }


async def _default_team_name(services: Services) -> str:
    async with services.db.acquire() as conn:
        name = await team_store.default_name(conn)
    return name or "Support"


async def assistant_available(services: Services) -> bool:
    """The default team's assistant answers new conversations when no person can (so the
    widget offers a live chat, not "leave us a message", while nobody is online)."""
    if services.settings.assistant_max_turns <= 0:
        return False
    return await mode_for(services, None) is not AssistantMode.OFF


async def available_agent_count(services: Services) -> int:
    """Agents with a live connection whose chosen status is online (away does not count)."""
    agent_ids = await services.presence.online_agent_ids()
    statuses = await asyncio.gather(*(services.presence.status(a) for a in agent_ids))
    return sum(1 for status, _since in statuses if status is PresenceStatus.ONLINE)
