"""Attachment upload (multipart) and authorized download."""

from __future__ import annotations

from uuid import UUID

from aiohttp import BodyPartReader, web

from ..actions import attachments as attachment_actions
from ..actions.wire import attachment_data
from ..core.errors import ErrorCode, ParleyError
from .errors import json_response
from .keys import SERVICES
from .requests import principal_of, uuid_param

routes = web.RouteTableDef()


async def _read_file_part(part: BodyPartReader, limit: int) -> bytes:
    chunks, size = [], 0
    while chunk := await part.read_chunk(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise ParleyError(
                ErrorCode.TOO_LARGE,
                f"file is larger than {limit} bytes",
                details={"max_bytes": limit},
            )
        chunks.append(chunk)
    return b"".join(chunks)


@routes.post("/api/v1/attachments")
async def upload(request: web.Request) -> web.Response:
    """multipart/form-data with fields conversation_id and file."""
    principal = await principal_of(request)
    services = request.app[SERVICES]
    if not request.content_type.startswith("multipart/"):
        raise ParleyError(
            ErrorCode.BAD_REQUEST, "send multipart/form-data with conversation_id and file"
        )
    reader = await request.multipart()
    conversation_id: UUID | None = None
    upload_part: tuple[str, str, bytes] | None = None
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            continue
        if part.name == "conversation_id":
            try:
                conversation_id = UUID((await part.text()).strip())
            except ValueError as exc:
                raise ParleyError(
                    ErrorCode.VALIDATION_FAILED, "conversation_id is not a UUID"
                ) from exc
        elif part.name == "file":
            content_type = part.headers.get("Content-Type", "application/octet-stream")
            attachment_actions.check_upload(services, content_type, 1)
            data = await _read_file_part(part, services.settings.attachment_max_bytes)
            upload_part = (part.filename or "file", content_type, data)
        else:
            raise ParleyError(ErrorCode.UNKNOWN_FIELD, f"unknown form field {part.name!r}")
    if conversation_id is None or upload_part is None:
        raise ParleyError(ErrorCode.BAD_REQUEST, "both conversation_id and file are required")
    attachment = await attachment_actions.upload(
        services,
        principal,
        conversation_id=conversation_id,
        filename=upload_part[0],
        content_type=upload_part[1],
        data=upload_part[2],
    )
    return json_response({"ok": True, "data": attachment_data(services, attachment)}, status=201)


def _file_response(filename: str, content_type: str, data: bytes) -> web.Response:
    inline = content_type.startswith("image/") or content_type == "application/pdf"
    disposition = "inline" if inline else "attachment"
    quoted = filename.replace('"', "")
    return web.Response(
        body=data,
        content_type=content_type,
        headers={
            "Content-Disposition": f'{disposition}; filename="{quoted}"',
            # Uploaded bytes are never interpreted as another type, nor run as a page.
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, max-age=300",
        },
    )


@routes.get("/api/v1/attachments/{attachment_id}/content")
async def download(request: web.Request) -> web.Response:
    """With ?token= (a signed link, for <img src>) or an Authorization header."""
    services = request.app[SERVICES]
    attachment_id = uuid_param(request, "attachment_id")
    link_token = request.query.get("token")
    if link_token:
        attachment, data = await attachment_actions.download_by_link(
            services, attachment_id, link_token
        )
    else:
        principal = await principal_of(request)
        attachment, data = await attachment_actions.download_by_principal(
            services, principal, attachment_id
        )
    if isinstance(data, attachment_actions.SignedDownload):
        raise web.HTTPFound(data.url, headers={"Cache-Control": "no-store"})
    return _file_response(attachment.filename, attachment.content_type, data)
