"""Attachment bytes in a Supabase Storage bucket, through the supabase package's storage client."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
from collections.abc import AsyncIterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx
from storage3 import AsyncStorageClient
from storage3.exceptions import StorageApiError
from storage3.types import CreateOrUpdateBucketOptions

from ..core.errors import ErrorCode, ParleyError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SignedDownload:
    """Where a client fetches the bytes itself: a short-lived URL signed by Supabase."""

    url: str


class SupabaseStorageBlobStore:
    """A private bucket (created when missing) holding one object per attachment.

    Parley checks who may read an attachment before it asks for a signed URL, and enforces
    its own size and type limits before anything is sent here; the bucket repeats them.
    Failures of the storage service become `unavailable` (or `too_large` for its 413), so
    an upload that fails writes no attachment row.
    """

    def __init__(
        self,
        url: str,
        service_key: str,
        bucket: str,
        *,
        max_bytes: int,
        content_types: tuple[str, ...],
        timeout: float = 15.0,
    ) -> None:
        self.bucket = bucket
        self._options: CreateOrUpdateBucketOptions = {
            "public": False,
            "file_size_limit": max_bytes,
            "allowed_mime_types": list(content_types),
        }
        self._http = httpx.AsyncClient(timeout=timeout, follow_redirects=True)
        self._client = AsyncStorageClient(
            f"{url.rstrip('/')}/storage/v1/",
            {"apiKey": service_key, "Authorization": f"Bearer {service_key}"},
            http_client=self._http,
        )
        self._bucket_lock = asyncio.Lock()

    async def put(self, key: str, chunks: AsyncIterable[bytes], content_type: str) -> int:
        """Spool the upload to a temporary file as it arrives (the size limit is enforced by
        `chunks` while reading), then send the file: never the whole upload in memory."""
        spool = await asyncio.to_thread(_spool_file)
        size = 0
        try:
            async for chunk in chunks:
                await asyncio.to_thread(spool.write, chunk)
                size += len(chunk)
            await asyncio.to_thread(spool.close)
            await self._store(key, Path(spool.name), content_type)
        finally:
            await asyncio.to_thread(_discard, spool)
        return size

    async def _store(self, key: str, file: Path, content_type: str) -> None:
        try:
            await self._upload(key, file, content_type)
        except StorageApiError as exc:
            if not _bucket_missing(exc):
                raise _failure(exc, "store the file") from exc
            await self._create_bucket()
            try:
                await self._upload(key, file, content_type)
            except StorageApiError as again:
                raise _failure(again, "store the file") from again
            except httpx.HTTPError as again:
                raise _unavailable("store the file", again) from again
        except httpx.HTTPError as exc:
            raise _unavailable("store the file", exc) from exc

    async def _upload(self, key: str, file: Path, content_type: str) -> None:
        await self._client.from_(self.bucket).upload(
            key, file, {"content-type": content_type, "upsert": "false"}
        )

    async def _create_bucket(self) -> None:
        async with self._bucket_lock:
            try:
                await self._client.create_bucket(self.bucket, options=self._options)
                log.info("created the Supabase Storage bucket %s", self.bucket)
            except StorageApiError as exc:
                if str(exc.status) not in ("409", "400") or "exist" not in exc.message.lower():
                    raise _failure(exc, "create the storage bucket") from exc
            except httpx.HTTPError as exc:
                raise _unavailable("create the storage bucket", exc) from exc

    async def get(self, key: str) -> bytes | None:
        try:
            return await self._client.from_(self.bucket).download(key)
        except StorageApiError as exc:
            if str(exc.status) == "404" or _bucket_missing(exc):
                return None
            raise _failure(exc, "read the file") from exc
        except httpx.HTTPError as exc:
            raise _unavailable("read the file", exc) from exc

    async def signed_url(self, key: str, ttl_seconds: int, filename: str) -> SignedDownload:
        try:
            signed = await self._client.from_(self.bucket).create_signed_url(
                key, ttl_seconds, {"download": filename}
            )
        except StorageApiError as exc:
            if str(exc.status) == "404" or _bucket_missing(exc):
                raise ParleyError(ErrorCode.NOT_FOUND, "attachment content not found") from exc
            raise _failure(exc, "sign a download link") from exc
        except httpx.HTTPError as exc:
            raise _unavailable("sign a download link", exc) from exc
        url = signed["signedURL"]
        if not url:
            raise _unavailable("sign a download link", ValueError("no signed URL returned"))
        return SignedDownload(url)

    async def delete(self, key: str) -> None:
        # Called to undo an upload whose row failed: an orphaned object is harmless, a masked
        # error is not, so failures are logged rather than raised.
        try:
            await self._client.from_(self.bucket).remove([key])
        except (StorageApiError, httpx.HTTPError) as exc:
            log.warning("could not delete %s from the storage bucket: %r", key, exc)

    async def aclose(self) -> None:
        await self._http.aclose()


def _bucket_missing(exc: StorageApiError) -> bool:
    return "bucket not found" in f"{exc.code} {exc.message}".lower()


def _failure(exc: StorageApiError, doing: str) -> ParleyError:
    if str(exc.status) == "413" or "payload too large" in exc.message.lower():
        return ParleyError(ErrorCode.TOO_LARGE, "the file storage refused a file this large")
    return _unavailable(doing, exc)


def _unavailable(doing: str, exc: Exception) -> ParleyError:
    log.warning("Supabase Storage could not %s: %r", doing, exc)
    return ParleyError(ErrorCode.UNAVAILABLE, f"file storage is unavailable; could not {doing}")


def _spool_file() -> IO[bytes]:
    return tempfile.NamedTemporaryFile(prefix="parley-upload-", delete=False)


def _discard(spool: IO[bytes]) -> None:
    with contextlib.suppress(OSError):
        spool.close()
    Path(spool.name).unlink(missing_ok=True)
