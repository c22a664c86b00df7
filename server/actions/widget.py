"""What the customer widget needs to know before it shows itself: looks, texts, availability."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from ..core.business_hours import WeeklyHours
from ..core.models import PresenceStatus
from ..core.routing import AssistantMode
from .assistant_owner import mode_for
from .context import Services


async def widget_settings(services: Services, *, now: datetime | None = None) -> dict[str, Any]:
    """The widget's server-side defaults (from settings) and whether anyone can answer now."""
    settings = services.settings
    hours = WeeklyHours.parse(settings.widget_business_hours, ZoneInfo(settings.widget_timezone))
    return {
        "color": settings.widget_color,
        "position": settings.widget_position,
        "greeting": settings.widget_greeting or None,
        "team_name": settings.widget_team_name or await _default_team_name(services),
        "pre_chat": {
            "name": settings.widget_prechat_name,
            "email": settings.widget_prechat_email,
        },
        "business_hours": {
            "open_now": hours.is_open(now or datetime.now(UTC)),
            "always_open": hours.always_open,
            "schedule": settings.widget_business_hours or None,
            "timezone": settings.widget_timezone,
            "text": settings.widget_hours_text or None,
        },
        "agents_available": await available_agent_count(services) > 0,
        "assistant_available": await assistant_available(services),
        "language": settings.widget_language or None,
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
        name: str | None = await conn.fetchval("SELECT name FROM teams WHERE is_default LIMIT 1")
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
