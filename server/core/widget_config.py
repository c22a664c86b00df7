"""The widget's settings that admins may override at run time, and their validation.

The environment (PARLEY_WIDGET_*, PARLEY_ALLOWED_ORIGINS) gives the defaults; an override of
None means "use the default". Pure: no I/O.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from .business_hours import WeeklyHours
from .errors import invalid
from .origins import is_origin

PreChat = Literal["required", "optional", "hidden"]


class WidgetOverrides(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    color: str | None = None
    position: Literal["left", "right"] | None = None
    greeting: Annotated[str, msgspec.Meta(max_length=500)] | None = None
    team_name: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    prechat_name: PreChat | None = None
    prechat_email: PreChat | None = None
    business_hours: Annotated[str, msgspec.Meta(max_length=500)] | None = None
    timezone: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    hours_text: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    language: Annotated[str, msgspec.Meta(max_length=20)] | None = None
    allowed_origins: list[Annotated[str, msgspec.Meta(max_length=300)]] | None = None


def check(overrides: WidgetOverrides, default_timezone: str) -> WidgetOverrides:
    """Refuse what the widget could not use, naming the field; blank texts mean "default"."""
    o = overrides
    if o.color is not None and not re.fullmatch(r"#[0-9a-fA-F]{6}", o.color):
        raise invalid("color must look like #1f5fbf", field="color")
    if o.language and not re.fullmatch(r"[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*", o.language):
        raise invalid("language must be a language tag such as en or de", field="language")
    zone_name = o.timezone or default_timezone
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise invalid(f"unknown time zone {zone_name!r}", field="timezone") from exc
    if o.business_hours:
        try:
            WeeklyHours.parse(o.business_hours, zone)
        except ValueError as exc:
            raise invalid(f"business hours: {exc}", field="business_hours") from exc
    if o.allowed_origins is not None:
        bad = [x for x in o.allowed_origins if not is_origin(x.strip())]
        if bad:
            raise invalid(
                "allowed origins are like https://www.example.com (scheme, host, optional "
                f"port, nothing after it), or *: {', '.join(bad)}",
                field="allowed_origins",
            )
    blank_to_none: dict[str, Any] = {
        name: (value.strip() or None) if isinstance(value, str) else value
        for name, value in msgspec.structs.asdict(o).items()
    }
    if blank_to_none["allowed_origins"] is not None:
        cleaned = [x.strip() for x in blank_to_none["allowed_origins"] if x.strip()]
        blank_to_none["allowed_origins"] = cleaned or None
    return WidgetOverrides(**blank_to_none)
