"""Reading REST requests: bodies decoded into msgspec Structs, principals from Bearer tokens."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar
from uuid import UUID

import msgspec
from aiohttp import web

from ..actions import auth as auth_actions
from ..core.errors import ErrorCode, ParleyError, unauthorized
from ..core.models import Principal
from ..core.text import BadText, check_storable, is_storable
from ..observability import logs
from ..realtime import codec
from .keys import SERVICES

T = TypeVar("T")

MAX_JSON_BODY = 256 * 1024


async def body_in_time(request: web.Request, step: Awaitable[T]) -> T:
    """One read of a request body, which must come within the body timeout (a stalled body
    is answered 408, not held; a long upload is fine as long as each read keeps moving)."""
    try:
        async with asyncio.timeout(request.app[SERVICES].settings.http_body_timeout_seconds):
            return await step
    except TimeoutError:
        # Ends the body here, so aiohttp answers at once instead of lingering for the rest.
        request.content.feed_eof()
        raise web.HTTPRequestTimeout(reason="the request body did not arrive in time") from None


async def read_body(request: web.Request, kind: type[T]) -> T:
    if request.content_length is not None and request.content_length > MAX_JSON_BODY:
        raise ParleyError(ErrorCode.TOO_LARGE, "request body is too large")
    raw = await body_in_time(request, _read_at_most(request, MAX_JSON_BODY + 1))
    if len(raw) > MAX_JSON_BODY:
        raise ParleyError(ErrorCode.TOO_LARGE, "request body is too large")
    try:
        data = codec.loads(raw)
    except codec.UndecodablePayload as exc:
        raise ParleyError(ErrorCode.BAD_REQUEST, f"body is not valid JSON: {exc}") from exc
    try:
        check_storable(data)
    except BadText as exc:
        raise ParleyError(ErrorCode.VALIDATION_FAILED, str(exc)) from exc
    try:
        return msgspec.convert(data, kind)
    except msgspec.ValidationError as exc:
        text = str(exc)
        code = ErrorCode.UNKNOWN_FIELD if "unknown field" in text else ErrorCode.VALIDATION_FAILED
        raise ParleyError(code, text) from exc


async def _read_at_most(request: web.Request, limit: int) -> bytes:
    # One read returns what has arrived so far, not the whole body.
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        chunk = await request.content.read(limit - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def check_query(request: web.Request) -> None:
    """Every query value and path segment must be storable text (422 naming it otherwise)."""
    for key, value in request.query.items():
        if not (is_storable(key) and is_storable(value)):
            raise ParleyError(
                ErrorCode.VALIDATION_FAILED,
                "NUL characters are not allowed - at query parameter "
                + (repr(key) if is_storable(key) else "name"),
            )
    if not is_storable(request.path):
        raise ParleyError(ErrorCode.NOT_FOUND, "no such route")


def bearer_token(request: web.Request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized("send Authorization: Bearer <token>")
    return token.strip()


async def principal_of(request: web.Request) -> Principal:
    """An agent or a visitor, whichever the token is."""
    services = request.app[SERVICES]
    token = bearer_token(request)
    try:
        agent = await auth_actions.authenticate_agent(services, token)
    except ParleyError as agent_error:
        try:
            return await auth_actions.authenticate_visitor(services, token)
        except ParleyError:
            raise agent_error from None
    logs.agent_id.set(str(agent.agent_id))  # this request's log lines (request_context resets it)
    return agent


def uuid_param(request: web.Request, name: str) -> UUID:
    try:
        return UUID(request.match_info[name])
    except ValueError as exc:
        raise ParleyError(ErrorCode.NOT_FOUND, f"no such {name.removesuffix('_id')}") from exc


def int_query(
    request: web.Request, name: str, *, default: int | None, low: int, high: int
) -> int | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ParleyError(ErrorCode.BAD_REQUEST, f"{name} must be an integer") from exc
    if not low <= value <= high:
        raise ParleyError(ErrorCode.VALIDATION_FAILED, f"{name} must be between {low} and {high}")
    return value
