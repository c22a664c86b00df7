"""Values PostgreSQL and JSON can hold: no NUL, no lone surrogates, finite numbers."""

from __future__ import annotations

import math
import re

# PostgreSQL refuses NUL in text; a lone surrogate (half an emoji) cannot be encoded as UTF-8.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# Deeper than any payload Parley declares; keeps free-form fields (attributes) from nesting
# without end.
MAX_DEPTH = 16


class BadText(ValueError):
    """A value that cannot be stored; `path` names where it is (`$.attributes.plan`)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{reason} - at `{path}`")
        self.path = path
        self.reason = reason


def is_storable(text: str) -> bool:
    return _UNSTORABLE.search(text) is None


def check_storable(value: object, path: str = "$", depth: int = 0) -> None:
    """Raise BadText for the first string (value or key) with NUL or a lone surrogate, or an
    infinite number."""
    if isinstance(value, str):
        if not is_storable(value):
            raise BadText(path, "NUL characters and lone surrogates are not allowed")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise BadText(path, "numbers must be finite")
    elif isinstance(value, dict):
        if depth >= MAX_DEPTH:
            raise BadText(path, f"nested more than {MAX_DEPTH} levels deep")
        for key, item in value.items():
            if isinstance(key, str) and not is_storable(key):
                raise BadText(path, "a key has NUL characters or lone surrogates")
            check_storable(item, f"{path}.{key}", depth + 1)
    elif isinstance(value, list):
        if depth >= MAX_DEPTH:
            raise BadText(path, f"nested more than {MAX_DEPTH} levels deep")
        for index, item in enumerate(value):
            check_storable(item, f"{path}[{index}]", depth + 1)


def clean_name(value: str, field: str) -> str:
    """A display name: surrounding spaces trimmed, and something left."""
    trimmed = value.strip()
    if not trimmed:
        raise ValueError(f"{field} must not be empty or only spaces")
    return trimmed
