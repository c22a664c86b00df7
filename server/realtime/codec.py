"""msgspec as python-socketio's JSON module (it must return str from dumps)."""

from __future__ import annotations

from typing import Any

import msgspec

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder()


def dumps(obj: Any, *args: Any, **kwargs: Any) -> str:
    return _encoder.encode(obj).decode()


def loads(data: str | bytes, *args: Any, **kwargs: Any) -> Any:
    return _decoder.decode(data)
