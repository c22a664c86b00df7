"""Domain errors: one code per failure a client can act on, mapped to acks and HTTP statuses."""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    BAD_REQUEST = "bad_request"  # malformed payload: not an object, bad JSON, wrong types
    UNKNOWN_FIELD = "unknown_field"  # a field the schema does not declare
    VALIDATION_FAILED = "validation_failed"  # well-formed but a value is out of range
    TOO_LARGE = "too_large"  # body, upload or page size above the configured limit
    UNAUTHORIZED = "unauthorized"  # missing, malformed or expired credentials
    FORBIDDEN = "forbidden"  # authenticated, but not allowed to do this
    NOT_FOUND = "not_found"  # no such resource, or not visible to the caller
    CONFLICT = "conflict"  # the request contradicts current state
    RATE_LIMITED = "rate_limited"  # too many attempts; retry later
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    UNAVAILABLE = "unavailable"  # a backing service is down; retry later
    INTERNAL = "internal"  # a bug on our side; never caused by input


HTTP_STATUS: dict[ErrorCode, int] = {
    ErrorCode.BAD_REQUEST: 400,
    ErrorCode.UNKNOWN_FIELD: 400,
    ErrorCode.VALIDATION_FAILED: 422,
    ErrorCode.TOO_LARGE: 413,
    ErrorCode.UNAUTHORIZED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.CONFLICT: 409,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: 415,
    ErrorCode.UNAVAILABLE: 503,
    ErrorCode.INTERNAL: 500,
}


class ParleyError(Exception):
    """An expected failure with a stable code and a message safe to show a client."""

    def __init__(
        self, code: ErrorCode, message: str, *, details: dict[str, object] | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or {}

    @property
    def http_status(self) -> int:
        return HTTP_STATUS[self.code]

    def as_body(self) -> dict[str, object]:
        error: dict[str, object] = {"code": str(self.code), "message": self.message}
        if self.details:
            error["details"] = self.details
        return {"ok": False, "error": error}


class NotOwner(ParleyError):
    """A guarded post was refused: the conversation changed hands (a person took it over, it
    was resolved) or a newer answer replaced this one. Nothing was written."""

    def __init__(self) -> None:
        super().__init__(ErrorCode.CONFLICT, "the conversation changed hands")


def not_found(what: str) -> ParleyError:
    return ParleyError(ErrorCode.NOT_FOUND, f"{what} not found")


def forbidden(message: str = "you are not allowed to do this") -> ParleyError:
    return ParleyError(ErrorCode.FORBIDDEN, message)


def unauthorized(message: str = "authentication required") -> ParleyError:
    return ParleyError(ErrorCode.UNAUTHORIZED, message)


def invalid(message: str, **details: object) -> ParleyError:
    return ParleyError(ErrorCode.VALIDATION_FAILED, message, details=details or None)
