"""What every socket handler shares: per-socket sessions and the error-to-ack mapping."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from socketio.exceptions import ConnectionRefusedError

from ..core.errors import ErrorCode, ParleyError
from ..core.models import Principal

log = logging.getLogger(__name__)


@dataclass(slots=True)
class SocketSession:
    principal: Principal
    display_name: str | None = None
    # Conversations this socket follows live (authorized when it joined them).
    following: set[str] = field(default_factory=set)


def refuse_connection(error: ParleyError) -> ConnectionRefusedError:
    """A refused connect: the client gets {"message": ..., "data": {"code", "message"}}."""
    return ConnectionRefusedError(
        error.message, {"code": str(error.code), "message": error.message}
    )


def ok(data: Any = None) -> dict[str, Any]:
    return {"ok": True, "data": data}


def error_ack(error: ParleyError) -> dict[str, Any]:
    return error.as_body()


H = TypeVar("H", bound=Callable[..., Awaitable[Any]])


def acked(handler: H) -> H:
    """Turn a handler's result into {"ok": true, "data": ...} and any failure into an error ack.

    A bad payload or a refused action never closes the connection and never leaks internals.
    """

    @functools.wraps(handler)
    async def wrapper(self: Any, sid: str, *args: Any) -> dict[str, Any]:
        try:
            if len(args) > 1:
                raise ParleyError(
                    ErrorCode.BAD_REQUEST,
                    f"an event carries one payload object; this one had {len(args)} arguments",
                )
            return ok(await handler(self, sid, *args))
        except ParleyError as exc:
            return error_ack(exc)
        except Exception:
            log.exception("socket handler %s failed", handler.__name__)
            return error_ack(ParleyError(ErrorCode.INTERNAL, "internal error; please retry"))

    return wrapper  # type: ignore[return-value]
