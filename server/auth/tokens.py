"""Signed, stateless tokens for visitors, agents and attachment links (HMAC-SHA256)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Literal
from uuid import UUID

import msgspec

from ..core.errors import unauthorized

TokenKind = Literal["visitor", "agent", "file"]
_VERSION = "p1"


class TokenClaims(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    kind: TokenKind
    sub: UUID
    iat: int
    exp: int | None = None
    # For "file" tokens: whose link it is (who asked for it), for the audit trail.
    aud: str | None = None
    # The account's token version when issued; bumping the version revokes every earlier token.
    ver: int = 0


_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(TokenClaims).decode


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenSigner:
    """Issues and verifies tokens. The secret never leaves the server."""

    def __init__(self, secret: str) -> None:
        if len(secret) < 16:
            raise ValueError("the token secret must be at least 16 characters")
        self._key = hashlib.sha256(("parley-token:" + secret).encode()).digest()

    def _signature(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest())

    def issue(
        self,
        kind: TokenKind,
        subject: UUID,
        *,
        ttl_seconds: int | None,
        aud: str | None = None,
        version: int = 0,
    ) -> str:
        now = int(time.time())
        claims = TokenClaims(
            kind=kind,
            sub=subject,
            iat=now,
            exp=now + ttl_seconds if ttl_seconds is not None else None,
            aud=aud,
            ver=version,
        )
        body = f"{_VERSION}.{_b64(_encode(claims))}"
        return f"{body}.{self._signature(body)}"

    def verify(self, token: object, kind: TokenKind) -> TokenClaims:
        if not isinstance(token, str) or len(token) > 2048:
            raise unauthorized("malformed token")
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != _VERSION:
            raise unauthorized("malformed token")
        body = f"{parts[0]}.{parts[1]}"
        if not hmac.compare_digest(self._signature(body), parts[2]):
            raise unauthorized("invalid token signature")
        try:
            claims = _decode(_unb64(parts[1]))
        except (msgspec.DecodeError, msgspec.ValidationError, ValueError) as exc:
            raise unauthorized("malformed token") from exc
        if claims.kind != kind:
            raise unauthorized(f"a {kind} token is required")
        if claims.exp is not None and claims.exp < time.time():
            raise unauthorized("token expired")
        return claims
