"""Every socket payload a client may send. Decoding is validation: unknown fields and wrong
types are refused before any handler logic runs."""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar
from uuid import UUID

import msgspec

from ..core.errors import ErrorCode, ParleyError
from ..core.models import PresenceStatus, Visibility
from ..core.text import BadText, check_storable


class Payload(msgspec.Struct, forbid_unknown_fields=True):
    pass


ClientId = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
# Bounded like every integer PostgreSQL stores (bigint).
Seq = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]
ShortText = Annotated[str, msgspec.Meta(max_length=200)]
Email = Annotated[str, msgspec.Meta(max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")]


class Hello(Payload):
    """The `auth` object of a connect."""

    token: str | None = None


class StartConversation(Payload):
    name: ShortText | None = None
    email: Email | None = None
    attributes: dict[str, Any] = {}
    page_url: Annotated[str, msgspec.Meta(max_length=2000)] | None = None
    referrer: Annotated[str, msgspec.Meta(max_length=2000)] | None = None
    # The team (slug) to ask for; the default team when absent.
    team: Annotated[str, msgspec.Meta(max_length=63)] | None = None
    # Start a new conversation even when one is open.
    new: bool = False
    # Replay messages after this sequence when an open conversation is returned.
    after_seq: Seq = 0
    # Only verified (identified) customers may ask for a priority; the site vouches for them.
    priority: Literal["urgent", "high", "normal", "low"] | None = None


class Identify(Payload):
    """A site's signed-in user: `hash` is HMAC-SHA256(identity secret, user_id) as hex."""

    user_id: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    hash: Annotated[str, msgspec.Meta(pattern=r"^[0-9a-fA-F]{64}$")]
    name: ShortText | None = None
    email: Email | None = None


class Resume(Payload):
    conversation_id: UUID
    after_seq: Seq = 0


class SendMessage(Payload):
    conversation_id: UUID
    client_id: ClientId
    body: str = ""
    attachment_ids: list[UUID] = []
    # Staff only: "internal" makes a private note.
    visibility: Visibility = Visibility.PUBLIC


class Typing(Payload):
    conversation_id: UUID
    typing: bool
    internal: bool = False


class Receipt(Payload):
    conversation_id: UUID
    seq: Seq


class ConversationRef(Payload):
    conversation_id: UUID


class RequestHuman(Payload):
    """The customer asks for a person."""

    conversation_id: UUID


class MarkSolved(Payload):
    """The customer says the answer solved their problem."""

    conversation_id: UUID


class SuggestReply(Payload):
    """An agent asks the assistant for a draft reply."""

    conversation_id: UUID


class History(Payload):
    conversation_id: UUID
    before_seq: Seq | None = None
    after_seq: Seq | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=200)] = 50


class Transfer(Payload):
    conversation_id: UUID
    to_agent_id: UUID | None = None
    to_team_id: UUID | None = None
    note: Annotated[str, msgspec.Meta(max_length=1000)] | None = None


class GetQueue(Payload):
    team_id: UUID | None = None


class SetPriority(Payload):
    conversation_id: UUID
    priority: Literal["urgent", "high", "normal", "low"]


class SetPresence(Payload):
    status: PresenceStatus


class ListConversations(Payload):
    status: Literal["open", "resolved", "abandoned"] | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=100)] = 20


P = TypeVar("P", bound=Payload)


def decode(kind: type[P], data: object) -> P:
    """Validate a client payload, turning every failure into a clear error code."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ParleyError(ErrorCode.BAD_REQUEST, "payload must be a JSON object")
    try:
        check_storable(data)
    except BadText as exc:
        raise ParleyError(ErrorCode.BAD_REQUEST, str(exc)) from exc
    try:
        return msgspec.convert(data, kind, strict=True)
    except msgspec.ValidationError as exc:
        text = str(exc)
        code = ErrorCode.UNKNOWN_FIELD if "unknown field" in text else ErrorCode.BAD_REQUEST
        raise ParleyError(code, text) from exc
