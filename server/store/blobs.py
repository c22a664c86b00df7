"""Where attachment bytes live, behind a small interface; local disk is the default."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterable
from pathlib import Path
from typing import BinaryIO, Protocol


class BlobStore(Protocol):
    async def put(self, key: str, chunks: AsyncIterable[bytes], content_type: str) -> int:
        """Store the bytes as they arrive, never the whole blob in memory; the size stored.

        All or nothing: when `chunks` raises (an upload over the size limit, a client that
        went away), nothing is left under `key` and the error propagates.
        """
        ...

    async def get(self, key: str) -> bytes | None: ...

    async def delete(self, key: str) -> None: ...


class LocalDiskBlobStore:
    """Files under one directory; keys are server-generated (never user input)."""

    def __init__(self, root: Path) -> None:
        self._root = root

    def _path(self, key: str) -> Path:
        if not key or "/" in key or key.startswith("."):
            raise ValueError("invalid storage key")
        return self._root / key[:2] / key

    async def put(self, key: str, chunks: AsyncIterable[bytes], content_type: str) -> int:
        path = self._path(key)
        temporary = path.with_suffix(".part")
        handle = await asyncio.to_thread(self._open, temporary)
        size = 0
        try:
            async for chunk in chunks:
                await asyncio.to_thread(handle.write, chunk)
                size += len(chunk)
            await asyncio.to_thread(handle.close)
            await asyncio.to_thread(os.replace, temporary, path)
        except BaseException:
            await asyncio.to_thread(self._discard, handle, temporary)
            raise
        return size

    @staticmethod
    def _open(path: Path) -> BinaryIO:
        path.parent.mkdir(parents=True, exist_ok=True)
        return path.open("wb")

    @staticmethod
    def _discard(handle: BinaryIO, path: Path) -> None:
        with contextlib.suppress(OSError):
            handle.close()
        path.unlink(missing_ok=True)

    async def get(self, key: str) -> bytes | None:
        path = self._path(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            return None

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, True)
