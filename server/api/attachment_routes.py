"""Attachment upload (multipart) and authorized download."""

from __future__ import annotations

from collections.abc import AsyncIterator
from uuid import UUID

from aiohttp import BodyPartReader, web

from ..actions import attachments as attachment_actions
from ..actions.wire import attachment_data
from ..core.errors import ErrorCode, ParleyError
from .errors import json_response
from .keys import SERVICES
from .requests import body_in_time, principal_of, uuid_param

routes = web.RouteTableDef()


async def _chunks(request: web.Request, part: BodyPartReader) -> AsyncIterator[bytes]:
    while chunk := await body_in_time(request, part.read_chunk(64 * 1024)):
        yield chunk


@routes.post("/api/v1/attachments")
async def upload(request: web.Request) -> web.Response:
    """multipart/form-data: conversation_id, then file. The file streams into storage as it
    arrives; the size limit is enforced while reading."""
    principal = await principal_of(request)
    services = request.app[SERVICES]
    if not request.content_type.startswith("multipart/"):
        raise ParleyError(
            ErrorCode.BAD_REQUEST, "send multipart/form-data with conversation_id and file"
        )
    reader = await request.multipart()
    conversation_id: UUID | None = None
    attachment = None
    while (part := await body_in_time(request, reader.next())) is not None:
        if not isinstance(part, BodyPartReader):
            continue
        if part.name == "conversation_id":
            try:
                conversation_id = UUID((await body_in_time(request, part.text())).strip())
            except ValueError as exc:
                raise ParleyError(
                    ErrorCode.VALIDATION_FAILED, "conversation_id is not a UUID"
                ) from exc
        elif part.name == "file":
            if conversation_id is None:
                raise ParleyError(ErrorCode.BAD_REQUEST, "send conversation_id before file")
            attachment = await attachment_actions.upload(
                services,
                principal,
                conversation_id=conversation_id,
                filename=part.filename or "file",
                content_type=part.headers.get("Content-Type", "application/octet-stream"),
                chunks=_chunks(request, part),
            )
            break  # the file is the last field: nothing after it is read
        else:
            raise ParleyError(ErrorCode.UNKNOWN_FIELD, f"unexpected form field {part.name!r}")
    if attachment is None:
        raise ParleyError(ErrorCode.BAD_REQUEST, "both conversation_id and file are required")
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
