"""What every socket handler shares: per-socket sessions and the error-to-ack mapping."""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from socketio.exceptions import ConnectionRefusedError

from ..core.addresses import forwarded_client
from ..core.errors import ErrorCode, ParleyError
from ..core.models import AgentPrincipal, Principal
from ..observability.logs import bound
from ..observability.metrics import labelled

log = logging.getLogger(__name__)


@dataclass(slots=True)
class SocketSession:
    principal: Principal
    display_name: str | None = None
    # Where the socket connected from (after trusted proxies): per-address rate limits.
    client_address: str = "unknown"
    # Conversations this socket follows live (authorized when it joined them). Replaced, not
    # changed in place: most sockets follow none or one, and the empty frozenset is shared
    # where an empty set took 216 bytes per connection.
    following: frozenset[str] = frozenset()


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
        return sys.intern(forwarded_client(environ.get("REMOTE_ADDR"), [], 0))
    forwarded = request.headers.getall("X-Forwarded-For", [])
    # Interned: the connections from one address (a proxy, an office) share one string.
    return sys.intern(forwarded_client(request.remote, forwarded, proxy_hops))


def ok(data: Any = None) -> dict[str, Any]:
    return {"ok": True, "data": data}


def error_ack(error: ParleyError) -> dict[str, Any]:
    return error.as_body()


H = TypeVar("H", bound=Callable[..., Awaitable[Any]])


def acked(handler: H) -> H:
    """Turn a handler's result into {"ok": true, "data": ...} and any failure into an error ack.

    A bad payload or a refused action never closes the connection and never leaks internals.
    """

    event = handler.__name__.removeprefix("on_")

    @functools.wraps(handler)
    async def wrapper(self: Any, sid: str, *args: Any) -> dict[str, Any]:
        with bound(**_socket_context(self, sid, args)):
            return await _acked(handler, event, self, sid, args)

    return wrapper  # type: ignore[return-value]


def _socket_context(namespace: Any, sid: str, args: tuple[Any, ...]) -> dict[str, str | None]:
    """The ids a socket event's log lines carry: connection, agent, conversation."""
    session = namespace.sessions.get(sid)
    principal = session.principal if session is not None else None
    payload = args[0] if args and isinstance(args[0], dict) else {}
    conversation = payload.get("conversation_id")
    if not isinstance(conversation, str) or len(conversation) > 64:
        conversation = None  # client-supplied: only something shaped like an id is logged
    return {
        "connection_id": namespace.connection_id(sid),
        "agent_id": str(principal.agent_id) if isinstance(principal, AgentPrincipal) else None,
        "conversation_id": conversation,
    }


async def _acked(
    handler: Callable[..., Awaitable[Any]],
    event: str,
    namespace: Any,
    sid: str,
    args: tuple[Any, ...],
) -> dict[str, Any]:
    acks = namespace.services.metrics.acks
    try:
        if len(args) > 1:
            raise ParleyError(
                ErrorCode.BAD_REQUEST,
                f"an event carries one payload object; this one had {len(args)} arguments",
            )
        result = ok(await handler(namespace, sid, *args))
    except ParleyError as exc:
        labelled(acks, event, str(exc.code)).inc()
        log.debug("%s refused: %s (%s)", event, exc.code, exc.message)
        return error_ack(exc)
    except Exception:
        log.exception("socket handler %s failed", handler.__name__)
        labelled(acks, event, str(ErrorCode.INTERNAL)).inc()
        return error_ack(ParleyError(ErrorCode.INTERNAL, "internal error; please retry"))
    labelled(acks, event, "ok").inc()
    return result
