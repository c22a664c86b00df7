"""What every socket handler shares: per-socket sessions and the error-to-ack mapping."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from socketio.exceptions import ConnectionRefusedError

from ..api.auth_routes import forwarded_client
from ..core.errors import ErrorCode, ParleyError
from ..core.models import Principal

log = logging.getLogger(__name__)


@dataclass(slots=True)
class SocketSession:
    principal: Principal
    display_name: str | None = None
    # Where the socket connected from (after trusted proxies): per-address rate limits.
    client_address: str = "unknown"
    # Conversations this socket follows live (authorized when it joined them).
    following: set[str] = field(default_factory=set)


def refuse_connection(error: ParleyError) -> ConnectionRefusedError:
    """A refused connect: the client gets {"message": ..., "data": {"code", "message"}}, plus
    "details" when the error has them (retry_after for rate_limited)."""
    data: dict[str, object] = {"code": str(error.code), "message": error.message}
    if error.details:
        data["details"] = error.details
    return ConnectionRefusedError(error.message, data)


def socket_client_address(environ: dict[str, Any], proxy_hops: int) -> str:
    """The client's address for a socket, read as for REST requests (trusted proxies only)."""
    request = environ.get("aiohttp.request")
    if request is None:
        return forwarded_client(environ.get("REMOTE_ADDR"), [], 0)
    forwarded = request.headers.getall("X-Forwarded-For", [])
    return forwarded_client(request.remote, forwarded, proxy_hops)


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
            return ok(await handler(self, sid, *args))
        except ParleyError as exc:
            return error_ack(exc)
        except Exception:
            log.exception("socket handler %s failed", handler.__name__)
            return error_ack(ParleyError(ErrorCode.INTERNAL, "internal error; please retry"))

    return wrapper  # type: ignore[return-value]
