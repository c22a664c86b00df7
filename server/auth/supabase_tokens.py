"""Verifies Supabase Auth access tokens: keys from the project's JWKS, or the legacy HS256 key."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
import jwt

from ..core.errors import ErrorCode, ParleyError, unauthorized

log = logging.getLogger(__name__)

# Algorithms a JWKS key may sign with; HS256 is accepted only with the configured secret, so
# a token can never make Parley treat a public key as a shared secret.
ASYMMETRIC = ("RS256", "ES256", "EdDSA")


@dataclass(frozen=True, slots=True)
class SupabaseUser:
    """What a verified access token says about its user."""

    sub: str
    email: str | None
    email_verified: bool
    claims: dict[str, Any]


class JwksCache:
    """The project's signing keys, fetched over HTTP and kept for `ttl` seconds.

    A token signed with a key id the cache does not know triggers one refetch (keys are
    rotated by publishing the new one first); further unknown ids within `cooldown`
    seconds do not, so made-up key ids cannot turn into a flood of requests to Supabase.
    """

    def __init__(
        self, url: str, *, ttl: float = 600.0, cooldown: float = 30.0, timeout: float = 5.0
    ) -> None:
        self.url = url
        self.ttl = ttl
        self.cooldown = cooldown
        self.fetches = 0
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = float("-inf")
        self._forced_at = float("-inf")
        self._lock = asyncio.Lock()
        self._session: aiohttp.ClientSession | None = None

    async def key(self, kid: str) -> jwt.PyJWK:
        now = time.monotonic()
        if now - self._fetched_at > self.ttl:
            await self._refresh(self._fetched_at)
        if kid not in self._keys and now - self._forced_at >= self.cooldown:
            self._forced_at = now
            await self._refresh(self._fetched_at)
        found = self._keys.get(kid)
        if found is None:
            raise unauthorized("the token is signed with an unknown key")
        return found

    async def _refresh(self, seen: float) -> None:
        async with self._lock:
            if self._fetched_at != seen:
                return  # another caller refreshed while this one waited
            try:
                data = await self._get()
                keys = jwt.PyJWKSet.from_dict(data).keys
            except (aiohttp.ClientError, TimeoutError, ValueError, jwt.PyJWKSetError) as exc:
                log.warning("cannot fetch Supabase signing keys from %s: %r", self.url, exc)
                if not self._keys:
                    raise ParleyError(
                        ErrorCode.UNAVAILABLE, "cannot reach Supabase to check the token"
                    ) from exc
                # Keep verifying with the keys we have; try again after the cooldown.
                self._fetched_at = time.monotonic() - self.ttl + self.cooldown
                return
            self.fetches += 1
            self._keys = {k.key_id: k for k in keys if k.key_id}
            self._fetched_at = time.monotonic()

    async def _get(self) -> Any:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        async with self._session.get(self.url) as response:
            response.raise_for_status()
            return await response.json(content_type=None)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()


class SupabaseVerifier:
    """Checks signature, expiry, audience and issuer of a Supabase access token."""

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        jwks: JwksCache | None,
        secret: str = "",
        leeway: float = 30.0,
    ) -> None:
        self.issuer = issuer
        self.audience = audience
        self.jwks = jwks
        self.secret = secret
        self.leeway = leeway

    async def verify(self, token: str) -> SupabaseUser:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as exc:
            raise unauthorized("not a Supabase access token") from exc
        algorithm = header.get("alg")
        key: Any
        if algorithm == "HS256" and self.secret:
            key = self.secret
        elif algorithm in ASYMMETRIC and self.jwks is not None:
            kid = header.get("kid")
            if not isinstance(kid, str):
                raise unauthorized("the token names no signing key")
            key = await self.jwks.key(kid)
            if key.algorithm_name != algorithm:
                raise unauthorized("the token's algorithm does not match its key")
        else:
            raise unauthorized(f"tokens signed with {algorithm!r} are not accepted")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["exp", "sub", "aud", "iss"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise unauthorized("the Supabase session has expired") from exc
        except jwt.InvalidTokenError as exc:
            raise unauthorized(f"the Supabase token is not valid: {exc}") from exc
        return _user(claims)

    async def aclose(self) -> None:
        if self.jwks is not None:
            await self.jwks.aclose()


def _user(claims: dict[str, Any]) -> SupabaseUser:
    if claims.get("role") != "authenticated" or claims.get("is_anonymous") is True:
        raise unauthorized("only signed-in Supabase users can become agents")
    metadata = claims.get("user_metadata")
    verified = claims.get("email_verified") is True or (
        isinstance(metadata, dict) and metadata.get("email_verified") is True
    )
    email = claims.get("email")
    return SupabaseUser(
        sub=str(claims["sub"]),
        email=email.strip() if isinstance(email, str) and email.strip() else None,
        email_verified=verified,
        claims=claims,
    )
