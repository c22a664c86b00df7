"""A local HTTP server publishing a Supabase project's signing keys (its JWKS), and tokens
signed the way Supabase Auth signs access tokens, with keys generated here."""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.support import free_port

JWKS_PATH = "/auth/v1/.well-known/jwks.json"
HS256_SECRET = "super-secret-jwt-token-with-at-least-32-characters"


class SigningKey:
    def __init__(self, algorithm: str) -> None:
        self.algorithm = algorithm
        self.kid = uuid.uuid4().hex
        if algorithm == "ES256":
            self.private: Any = ec.generate_private_key(ec.SECP256R1())
            self.jwk = jwt.algorithms.ECAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        else:
            self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            self.jwk = jwt.algorithms.RSAAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        self.jwk.update(kid=self.kid, alg=algorithm, use="sig")


@web.middleware
async def _cors(request: web.Request, handler: Any) -> web.StreamResponse:
    # supabase-js calls Supabase from the console's origin.
    response = await handler(request)
    response.headers["Access-Control-Allow-Origin"] = request.headers.get("Origin", "*")
    response.headers["Access-Control-Allow-Headers"] = request.headers.get(
        "Access-Control-Request-Headers", "*"
    )
    response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
    return response


class FakeSupabaseAuth:
    """Serves the published keys at Supabase's JWKS path; counts how often it was asked."""

    def __init__(self) -> None:
        self.published: list[SigningKey] = []
        self.requests = 0
        # Supabase Auth's password grant: email -> password. Sessions are signed with the
        # first published key.
        self.passwords: dict[str, str] = {}
        self.subjects: dict[str, str] = {}
        self.port = free_port()
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def issuer(self) -> str:
        return f"{self.url}/auth/v1"

    async def start(self) -> FakeSupabaseAuth:
        app = web.Application(middlewares=[_cors])
        app.router.add_get(JWKS_PATH, self._jwks)
        app.router.add_post("/auth/v1/token", self._token)
        app.router.add_route("OPTIONS", "/{tail:.*}", self._preflight)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _jwks(self, request: web.Request) -> web.Response:
        self.requests += 1
        return web.json_response({"keys": [k.jwk for k in self.published]})

    async def _preflight(self, request: web.Request) -> web.Response:
        return web.Response(status=204)

    async def _token(self, request: web.Request) -> web.Response:
        """The password grant supabase-js's signInWithPassword uses."""
        body = await request.json()
        email = str(body.get("email", "")).lower()
        if request.query.get("grant_type") != "password" or self.passwords.get(email) != body.get(
            "password"
        ):
            return web.json_response(
                {
                    "code": 400,
                    "error_code": "invalid_credentials",
                    "msg": "Invalid login credentials",
                },
                status=400,
            )
        claims = self.claims(email, sub=self.subjects.setdefault(email, str(uuid.uuid4())))
        user = {
            "id": claims["sub"],
            "aud": "authenticated",
            "role": "authenticated",
            "email": email,
            "email_confirmed_at": "2026-01-01T00:00:00Z",
            "app_metadata": claims["app_metadata"],
            "user_metadata": claims["user_metadata"],
            "created_at": "2026-01-01T00:00:00Z",
        }
        return web.json_response(
            {
                "access_token": self.token(self.published[0], claims),
                "token_type": "bearer",
                "expires_in": 3600,
                "expires_at": claims["exp"],
                "refresh_token": "refresh",
                "user": user,
            }
        )

    def claims(self, email: str | None = "robin@example.test", **changes: Any) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": str(uuid.uuid4()),
            "aud": "authenticated",
            "exp": now + 3600,
            "iat": now,
            "email": email,
            "role": "authenticated",
            "app_metadata": {"provider": "email", "providers": ["email"]},
            "user_metadata": {"email_verified": True},
            "is_anonymous": False,
        }
        claims.update(changes)
        return claims

    def token(self, key: SigningKey | None, claims: dict[str, Any]) -> str:
        """Signed with `key`, or with the legacy shared secret when None."""
        if key is None:
            return jwt.encode(claims, HS256_SECRET, algorithm="HS256")
        return jwt.encode(claims, key.private, algorithm=key.algorithm, headers={"kid": key.kid})
