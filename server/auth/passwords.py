"""Password hashing with argon2id, off the event loop (each hash costs tens of milliseconds)."""

from __future__ import annotations

import asyncio
import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError


class HashingSlots:
    """A cap on password hashes running at once, across every request of the process.

    argon2id spends tens of milliseconds of a core per hash in a worker thread; without a cap a
    burst of sign-ins fills the thread pool and pins every core. Callers past the cap wait their
    turn on the event loop, which costs nothing.
    """

    def __init__(self, concurrency: int) -> None:
        self._slots = asyncio.Semaphore(concurrency)

    async def hash(self, password: str) -> str:
        async with self._slots:
            return await hash_password(password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        async with self._slots:
            return await verify_password(password_hash, password)


@functools.cache
def _hasher() -> PasswordHasher:
    return PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    # Verifying against this keeps unknown-account logins as slow as real ones (no user probing).
    return _hasher().hash("parley-timing-equaliser")


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher().hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    if password_hash is None:
        await asyncio.to_thread(_verify, _dummy_hash(), password)
        return False
    return await asyncio.to_thread(_verify, password_hash, password)


def needs_rehash(password_hash: str) -> bool:
    return _hasher().check_needs_rehash(password_hash)
