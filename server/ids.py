"""Random ids from one read of the OS's CSPRNG sliced many ways, instead of a system call each."""

from __future__ import annotations

import base64
import os
import uuid

# Bytes read at once: 256 ids of 16 bytes. A storm of connects takes three or four random ids
# per connect (request id, two session ids, a visitor's id), each `os.urandom` call a system
# call of its own: ~3% of a connect's CPU (docs/performance.md, "Connection storms: round 5").
_CHUNK = 4096


class RandomPool:
    """Bytes from `os.urandom` (the same source as `secrets` and `uuid.uuid4`), read a chunk at
    a time and never handed out twice. Used from one thread (the event loop's); a forked child
    starts with a fresh chunk of its own rather than its parent's."""

    def __init__(self, chunk: int = _CHUNK) -> None:
        self._chunk = chunk
        self._bytes = b""
        self._at = 0
        self.reads = 0  # os.urandom calls made (for tests)

    def take(self, size: int) -> bytes:
        start = self._at
        end = start + size
        if end > len(self._bytes):
            self._bytes = os.urandom(max(self._chunk, size))
            self.reads += 1
            start, end = 0, size
        self._at = end
        return self._bytes[start:end]

    def forget(self) -> None:
        """Drop what is left unread (after a fork: the parent hands out the same bytes)."""
        self._bytes = b""
        self._at = 0


_pool = RandomPool()
os.register_at_fork(after_in_child=_pool.forget)


def random_bytes(size: int) -> bytes:
    return _pool.take(size)


def random_hex(size: int = 16) -> str:
    """`size` random bytes as hex (a request id: 32 characters, as `uuid4().hex` gave)."""
    return _pool.take(size).hex()


def uuid4() -> uuid.UUID:
    """A random (version 4) UUID, as `uuid.uuid4()` makes it, from the pool."""
    return uuid.UUID(bytes=_pool.take(16), version=4)


def session_id(sequence: int) -> str:
    """An Engine.IO session id as python-engineio writes it: 12 random bytes and a 3-byte
    sequence number, URL-safe base64 (20 characters)."""
    raw = _pool.take(12) + (sequence & 0xFFFFFF).to_bytes(3, "big")
    return base64.urlsafe_b64encode(raw).decode("ascii")
