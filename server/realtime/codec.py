"""msgspec as python-socketio's JSON module (it must return str from dumps)."""

from __future__ import annotations

import json
from typing import Any

import msgspec

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder()


class UndecodablePayload(ValueError):
    """Not JSON at all (for example `Infinity`, or truncated text)."""


def _refuse_constant(name: str) -> Any:
    raise UndecodablePayload(f"{name} is not JSON")


def dumps(obj: Any, *args: Any, **kwargs: Any) -> str:
    return _encoder.encode(obj).decode()


def loads(data: str | bytes, *args: Any, **kwargs: Any) -> Any:
    try:
        return _decoder.decode(data)
    except msgspec.DecodeError as exc:
        # msgspec refuses "\ud83d" (valid JSON, and what JSON.stringify makes of half an
        # emoji); the standard parser keeps it, so the schema can name the field it is in.
        try:
            return json.loads(data, parse_constant=_refuse_constant)
        except UndecodablePayload:
            raise
        except (ValueError, RecursionError):
            raise UndecodablePayload(str(exc)) from exc
    except msgspec.ValidationError as exc:  # a number too large for any type
        raise UndecodablePayload(str(exc)) from exc


def packet_header(encoded: str) -> tuple[int | None, str, int | None]:
    """The type, namespace and ack id of a Socket.IO packet whose JSON could not be read."""
    kind = int(encoded[0]) if encoded[:1].isdigit() else None
    rest = encoded[1:]
    count, dash, after = rest.partition("-")
    if dash and count.isdigit():
        rest = after
    namespace = "/"
    if rest.startswith("/"):
        namespace, _, rest = rest.partition(",")
        namespace = namespace.partition("?")[0]
    digits = len(rest) - len(rest.lstrip("0123456789"))
    ack_id = int(rest[:digits]) if 0 < digits < 20 else None
    return kind, namespace, ack_id
