"""Conversations and their history over REST."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec
from aiohttp import web

from ..actions import conversations as conversation_actions
from ..actions import messages as message_actions
from ..actions import posting
from ..actions.wire import message_wire
from ..core import policies
from ..core.errors import ErrorCode, ParleyError
from ..core.events import to_wire
from ..core.models import AgentPrincipal, ConversationStatus, CustomerPrincipal, Visibility
from .errors import json_response
from .keys import SERVICES
from .requests import int_query, principal_of, read_body, uuid_param

routes = web.RouteTableDef()


class Cursor(msgspec.Struct, array_like=True):
    updated_at: datetime
    id: UUID


def _encode_cursor(updated_at: datetime, conversation_id: UUID) -> str:
    raw = msgspec.json.encode(Cursor(updated_at, conversation_id))
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(text: str) -> tuple[datetime, UUID]:
    try:
        cursor = msgspec.json.decode(
            base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)), type=Cursor
        )
    except (ValueError, msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise ParleyError(ErrorCode.BAD_REQUEST, "invalid cursor") from exc
    return cursor.updated_at, cursor.id


def _status_filter(raw: str | None) -> ConversationStatus | None:
    if raw in (None, "", "all"):
        return None
    try:
        return ConversationStatus(raw)
    except ValueError as exc:
        raise ParleyError(
            ErrorCode.VALIDATION_FAILED, "status must be open, resolved, abandoned or all"
        ) from exc


def _assignee_filter(raw: str | None, me: UUID) -> tuple[UUID | None, bool]:
    if raw in (None, "", "any"):
        return None, False
    if raw == "me":
        return me, False
    if raw == "none":
        return None, True
    try:
        return UUID(raw), False
    except ValueError as exc:
        raise ParleyError(
            ErrorCode.VALIDATION_FAILED, "assignee must be me, none, any or an agent id"
        ) from exc


@routes.get("/api/v1/conversations")
async def list_conversations(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    services = request.app[SERVICES]
    limit = int_query(request, "limit", default=25, low=1, high=100)
    assert limit is not None
    if isinstance(principal, CustomerPrincipal):
        found = await conversation_actions.list_for_customer(services, principal, limit=limit)
        return json_response(
            {
                "ok": True,
                "data": {"conversations": [to_wire(c) for c in found], "next_cursor": None},
            }
        )
    agent = policies.ensure_agent(principal)
    assignee, unassigned = _assignee_filter(request.query.get("assignee"), agent.agent_id)
    cursor = request.query.get("cursor")
    found = await conversation_actions.list_for_agent(
        services,
        agent,
        status=_status_filter(request.query.get("status")),
        assignee=assignee,
        unassigned=unassigned,
        before=_decode_cursor(cursor) if cursor else None,
        limit=limit + 1,
    )
    page, more = found[:limit], len(found) > limit
    next_cursor = _encode_cursor(page[-1].updated_at, page[-1].id) if more and page else None
    conversations = await conversation_actions.with_summaries(services, agent, page)
    return json_response(
        {"ok": True, "data": {"conversations": conversations, "next_cursor": next_cursor}}
    )


@routes.get("/api/v1/conversations/{conversation_id}")
async def get_conversation(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    services = request.app[SERVICES]
    conversation = await conversation_actions.get_visible(
        services, principal, uuid_param(request, "conversation_id")
    )
    if isinstance(principal, AgentPrincipal):
        (data,) = await conversation_actions.with_summaries(services, principal, [conversation])
        return json_response({"ok": True, "data": {"conversation": data}})
    return json_response({"ok": True, "data": {"conversation": to_wire(conversation)}})


@routes.get("/api/v1/conversations/{conversation_id}/messages")
async def history(request: web.Request) -> web.Response:
    """?after_seq=N pages forward; ?before_seq=N (or nothing: the newest) pages backward."""
    principal = await principal_of(request)
    services = request.app[SERVICES]
    limit = int_query(request, "limit", default=50, low=1, high=200)
    after_seq = int_query(request, "after_seq", default=None, low=0, high=2**62)
    before_seq = int_query(request, "before_seq", default=None, low=1, high=2**62)
    assert limit is not None
    messages = await message_actions.history(
        services,
        principal,
        uuid_param(request, "conversation_id"),
        after_seq=after_seq,
        before_seq=before_seq,
        limit=limit,
    )
    data = {
        "messages": [message_wire(services, m) for m in messages],
        "has_more": len(messages) == limit,
        "first_seq": messages[0].seq if messages else None,
        "last_seq": messages[-1].seq if messages else None,
    }
    return json_response({"ok": True, "data": data})


class PostMessageBody(msgspec.Struct, forbid_unknown_fields=True):
    client_id: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    body: str = ""
    attachment_ids: list[UUID] = []
    visibility: Visibility = Visibility.PUBLIC


@routes.post("/api/v1/conversations/{conversation_id}/messages")
async def post_message(request: web.Request) -> web.Response:
    """The same action the sockets use; retries with the same client_id are idempotent."""
    principal = await principal_of(request)
    body = await read_body(request, PostMessageBody)
    posted = await posting.post_message(
        request.app[SERVICES],
        principal,
        conversation_id=uuid_param(request, "conversation_id"),
        client_id=body.client_id,
        body=body.body,
        visibility=body.visibility,
        attachment_ids=body.attachment_ids,
    )
    return json_response({"ok": True, "data": posted.ack()}, status=201 if posted.created else 200)
