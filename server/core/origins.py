"""Which browser origins may open sockets and call the widget's REST routes.

The environment sets the list (PARLEY_ALLOWED_ORIGINS); admins may replace it at run time, so
the list lives in one mutable holder that the socket server and the CORS hook both consult.
"""

from __future__ import annotations

import re

_ORIGIN = re.compile(r"^https?://[a-z0-9.-]+(:\d{1,5})?$|^\*$", re.IGNORECASE)


def is_origin(text: str) -> bool:
    """scheme://host[:port] with nothing after it, or "*"."""
    return bool(_ORIGIN.match(text))


class AllowedOrigins:
    def __init__(self, configured: tuple[str, ...]) -> None:
        self.configured = configured
        self.current = configured

    def replace(self, override: tuple[str, ...] | None) -> None:
        """An admin's list, or None to go back to the configured one."""
        self.current = override if override else self.configured

    def allows(self, origin: str | None) -> bool:
        if origin is None:
            return True
        return "*" in self.current or origin in self.current

    def header_value(self, origin: str) -> str | None:
        """Access-Control-Allow-Origin for this origin, or None when it is not allowed."""
        if "*" in self.current:
            return "*"
        return origin if origin in self.current else None
