"""Attachments: validated upload into the blob store, authorized download."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterable, AsyncIterator
from urllib.parse import unquote
from uuid import UUID

from ..core import policies
from ..core.errors import ErrorCode, ParleyError, invalid, not_found
from ..core.models import Attachment, CustomerPrincipal, Principal, Visibility
from ..routing.limits import Charge
from ..store import attachments as attachment_store
from ..store.supabase_storage import SignedDownload as SignedDownload  # the routes answer it
from ..store.supabase_storage import SupabaseStorageBlobStore
from .context import Services, unit_of_work
from .conversations import load_visible

_UNSAFE_NAME = re.compile(r"[^\w.\- ()\[\]]+", re.UNICODE)


def clean_filename(name: str) -> str:
    """Keep a readable, harmless file name: no paths, no control characters."""
    # Browsers and HTTP clients may percent-encode the name they send.
    base = unquote(name).replace("\\", "/").rsplit("/", 1)[-1].strip()
    base = _UNSAFE_NAME.sub("_", base).strip(" .")
    return base[:200] or "file"


def check_upload(services: Services, content_type: str, size: int) -> str:
    settings = services.settings
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type not in settings.attachment_content_types:
        raise ParleyError(
            ErrorCode.UNSUPPORTED_MEDIA_TYPE,
            f"files of type {media_type or 'unknown'} are not accepted",
            details={"allowed": list(settings.attachment_content_types)},
        )
    if size > settings.attachment_max_bytes:
        raise _too_large(settings.attachment_max_bytes)
    if size == 0:
        raise invalid("file is empty")
    return media_type


def _too_large(limit: int) -> ParleyError:
    return ParleyError(
        ErrorCode.TOO_LARGE, f"file is larger than {limit} bytes", details={"max_bytes": limit}
    )


async def _within(chunks: AsyncIterable[bytes], limit: int) -> AsyncIterator[bytes]:
    """The chunks, refused as soon as they add up to more than `limit` bytes."""
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        yield chunk


async def upload(
    services: Services,
    principal: Principal,
    *,
    conversation_id: UUID,
    filename: str,
    content_type: str,
    chunks: AsyncIterable[bytes],
) -> Attachment:
    """Stream an upload into the blob store (the size limit enforced while reading), then
    record it. Visitors' uploads are rate limited in count and in bytes."""
    media_type = check_upload(services, content_type, 1)
    async with unit_of_work(services, transaction=False) as work:
        await load_visible(work, principal, conversation_id)
    visitor = isinstance(principal, CustomerPrincipal)
    if visitor:
        # The byte allowance may go below zero by one upload (its size is only known once
        # read); the next upload then waits until it is paid back.
        await services.limits.take(
            Charge("uploads_per_visitor", principal.id),
            Charge("upload_bytes_per_visitor", principal.id, cost=1),
            debt=True,
        )
    storage_key = uuid.uuid4().hex
    limited = _within(chunks, services.settings.attachment_max_bytes)
    # Bytes first: a row must never point at a file that is not there.
    size = await services.blobs.put(storage_key, limited, media_type)
    try:
        if size == 0:
            raise invalid("file is empty")
        if visitor and size > 1:
            await services.limits.take(
                Charge("upload_bytes_per_visitor", principal.id, cost=size - 1), debt=True
            )
        async with unit_of_work(services) as work:
            return await attachment_store.create(
                work.conn,
                attachment_id=uuid.uuid4(),
                conversation_id=conversation_id,
                uploader_kind=principal.kind,
                uploader_id=principal.id,
                filename=clean_filename(filename),
                content_type=media_type,
                size_bytes=size,
                storage_key=storage_key,
            )
    except BaseException:
        await services.blobs.delete(storage_key)
        raise


async def sweep_unsent(services: Services) -> int:
    """Delete uploads never sent in a message once older than the setting: the row first (so
    no message can link it afterwards), then the bytes. How many went."""
    ttl = services.settings.attachment_unsent_ttl_seconds
    removed = 0
    while True:
        async with services.db.acquire() as conn:
            keys = await attachment_store.delete_unsent_older_than(conn, ttl, limit=200)
        for key in keys:
            await services.blobs.delete(key)
        removed += len(keys)
        if len(keys) < 200:
            return removed


async def download_by_principal(
    services: Services, principal: Principal, attachment_id: UUID
) -> tuple[Attachment, bytes | SignedDownload]:
    async with unit_of_work(services, transaction=False) as work:
        found = await attachment_store.get_with_key(work.conn, attachment_id)
        if found is None:
            raise not_found("attachment")
        attachment, key, message_visibility = found
        await load_visible(work, principal, attachment.conversation_id)
        if message_visibility is not None and not policies.can_read_visibility(
            principal, Visibility(message_visibility)
        ):
            raise not_found("attachment")
    return await _read(services, attachment, key)


async def download_by_link(
    services: Services, attachment_id: UUID, token: str
) -> tuple[Attachment, bytes | SignedDownload]:
    claims = services.signer.verify(token, "file")
    if claims.sub != attachment_id:
        raise not_found("attachment")
    async with services.db.acquire() as conn:
        found = await attachment_store.get_with_key(conn, attachment_id)
    if found is None:
        raise not_found("attachment")
    return await _read(services, found[0], found[1])


async def _read(
    services: Services, attachment: Attachment, key: str
) -> tuple[Attachment, bytes | SignedDownload]:
    if isinstance(services.blobs, SupabaseStorageBlobStore):
        # Authorized above; the bytes come straight from Supabase through a short-lived link.
        ttl = services.settings.attachment_url_ttl_seconds
        return attachment, await services.blobs.signed_url(key, ttl, attachment.filename)
    data = await services.blobs.get(key)
    if data is None:
        raise not_found("attachment content")
    return attachment, data
