"""Every REST failure is JSON in one shape: {"ok": false, "error": {"code", "message"}}."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import msgspec
from aiohttp import web

from ..core.errors import ErrorCode, ParleyError

log = logging.getLogger(__name__)

_HTTP_CODES = {
    400: ErrorCode.BAD_REQUEST,
    401: ErrorCode.UNAUTHORIZED,
    403: ErrorCode.FORBIDDEN,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.BAD_REQUEST,
    409: ErrorCode.CONFLICT,
    413: ErrorCode.TOO_LARGE,
    415: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
    422: ErrorCode.VALIDATION_FAILED,
    429: ErrorCode.RATE_LIMITED,
}

_encode = msgspec.json.Encoder().encode


def json_response(data: object, status: int = 200) -> web.Response:
    return web.Response(body=_encode(data), status=status, content_type="application/json")


def error_response(error: ParleyError, status: int | None = None) -> web.Response:
    response = json_response(error.as_body(), status=status or error.http_status)
    retry_after = error.details.get("retry_after")
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ParleyError as exc:
        log.debug("%s %s refused: %s (%s)", request.method, request.path, exc.code, exc.message)
        return error_response(exc)
    except web.HTTPException as exc:
        if exc.status < 400 or not request.path.startswith("/api/"):
            raise
        code = _HTTP_CODES.get(exc.status, ErrorCode.BAD_REQUEST)
        response = error_response(ParleyError(code, exc.reason or code.value), status=exc.status)
        if exc.status == 408:
            response.force_close()  # what is left of a late body must not read as a request
        return response
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(ParleyError(ErrorCode.INTERNAL, "internal error"))
