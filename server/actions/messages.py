"""Posting messages and reading history: the one way a message enters a conversation."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from ..core import policies
from ..core.errors import invalid
from ..core.models import (
    Conversation,
    Message,
    Poster,
    Principal,
    SenderKind,
    Visibility,
)
from ..core.policies import ViewScope
from ..store import messages as message_store
from ..store.messages import PostGuard, PostResult
from ..store.post_groups import PostGroups, PostRequest
from .context import Services, UnitOfWork, publish_all, unit_of_work
from .conversations import load_visible
from .wire import message_wire, message_wire_events

MAX_ATTACHMENTS_PER_MESSAGE = 10
MAX_PAGE = 200


class PostedMessage:
    """The acknowledgement of a post: the same for a first send and for every retry."""

    __slots__ = ("conversation", "created", "message", "reopened")

    def __init__(
        self,
        message: Message,
        created: bool,
        reopened: bool = False,
        conversation: Conversation | None = None,
    ) -> None:
        self.message = message
        self.created = created
        self.reopened = reopened  # a customer's message reopened a resolved conversation
        self.conversation = conversation  # as it was before the post

    def ack(self) -> dict[str, Any]:
        return {
            "message_id": str(self.message.id),
            "conversation_id": str(self.message.conversation_id),
            "seq": self.message.seq,
            "client_id": self.message.client_id,
            "created_at": self.message.created_at.isoformat(),
            "duplicate": not self.created,
        }


async def write_message(
    services: Services,
    work: UnitOfWork,
    poster: Poster,
    *,
    conversation_id: UUID,
    body: str,
    visibility: Visibility = Visibility.PUBLIC,
    client_id: str | None = None,
    attachment_ids: list[UUID] | None = None,
    metadata: dict[str, Any] | None = None,
    sender_name: str | None = None,
    guard: PostGuard | None = None,
    scope: ViewScope | None = None,
) -> PostedMessage:
    """The one insert path for every message, whoever writes it: clients (through
    posting.post_message),
    the assistant and Parley's own notices. Runs in the caller's unit of work; the events go out
    after its commit. With a guard, the post is refused (NotOwner) unless the conversation is
    still in the expected hands when the row is locked. With a scope (policies.view_scope),
    a conversation the poster may not see is not_found and nothing is stored. A customer's
    name is read in the same statement when `sender_name` is not given."""
    attachment_ids = attachment_ids or []
    result = await message_store.post(
        work.conn,
        conversation_id=conversation_id,
        sender_kind=poster.kind,
        sender_id=poster.id,
        client_id=client_id,
        body=body,
        visibility=visibility,
        metadata=metadata or {},
        attachment_ids=attachment_ids,
        guard=guard,
        scope=scope,
    )
    if not result.created or attachment_ids:
        # A retry answers with the original; attachments need their rows. Both are rare.
        stored = await message_store.get_one(work.conn, result.id)
        assert stored is not None
        message = stored
    else:
        message = _new_message(poster, result, body, visibility, client_id, metadata, sender_name)
    if result.created:
        work.publish_on_commit(*message_wire_events(services, message))
    return PostedMessage(message, result.created, result.reopened, result.conversation)


async def write_grouped(
    services: Services,
    posts: PostGroups,
    poster: Principal,
    *,
    conversation_id: UUID,
    body: str,
    visibility: Visibility,
    client_id: str | None,
    metadata: dict[str, Any] | None,
    sender_name: str | None,
    scope: ViewScope | None,
) -> PostedMessage:
    """write_message for a client's post without attachments, through group commit: it
    shares its statement (one transaction, one WAL flush) with the posts that arrived while
    the previous one ran. The events go out after that statement committed."""
    result = await posts.post(
        PostRequest(
            conversation_id=conversation_id,
            sender_kind=poster.kind,
            sender_id=poster.id,
            client_id=client_id,
            body=body,
            visibility=visibility,
            metadata=metadata or {},
            scope=scope,
        )
    )
    if not result.created:
        async with services.db.acquire() as conn:  # a retry answers with the original
            stored = await message_store.get_one(conn, result.id)
        assert stored is not None
        return PostedMessage(stored, False, False, result.conversation)
    message = _new_message(poster, result, body, visibility, client_id, metadata, sender_name)
    await publish_all(services, message_wire_events(services, message))
    return PostedMessage(message, True, result.reopened, result.conversation)


def _new_message(
    poster: Poster,
    result: PostResult,
    body: str,
    visibility: Visibility,
    client_id: str | None,
    metadata: dict[str, Any] | None,
    sender_name: str | None,
) -> Message:
    if sender_name is None and poster.kind is SenderKind.CUSTOMER:
        sender_name = result.customer_name  # read in the same statement
    return Message(
        id=result.id,
        conversation_id=result.conversation.id,
        seq=result.seq,
        sender_kind=poster.kind,
        sender_id=poster.id,
        sender_name=sender_name,
        client_id=client_id,
        body=body,
        visibility=visibility,
        attachments=(),
        metadata=metadata or {},
        created_at=result.created_at,
    )


async def history(
    services: Services,
    principal: Principal,
    conversation_id: UUID,
    *,
    after_seq: int | None,
    before_seq: int | None,
    limit: int,
) -> list[Message]:
    """A page of history the principal may read, oldest first.

    after_seq pages forward (what came after); otherwise it pages backward from before_seq
    (or from the newest message).
    """
    if not 1 <= limit <= MAX_PAGE:
        raise invalid(f"limit must be between 1 and {MAX_PAGE}")
    async with unit_of_work(services, transaction=False) as work:
        await load_visible(work, principal, conversation_id)
        visibilities = policies.visibilities_for(principal)
        if after_seq is not None:
            return await message_store.after(
                work.conn,
                conversation_id,
                after_seq=after_seq,
                before_seq=before_seq,
                limit=limit,
                visibilities=visibilities,
            )
        return await message_store.before(
            work.conn,
            conversation_id,
            before_seq=before_seq,
            limit=limit,
            visibilities=visibilities,
        )


async def replay_page(
    services: Services,
    *,
    conversation_id: UUID,
    customer_side: bool,
    after_seq: int,
    limit: int,
) -> list[dict[str, Any]]:
    """Wire payloads for delivery catch-up; authorization happened when the stream opened."""
    visibilities = policies.visibilities_of_side(customer_side=customer_side)
    async with services.db.acquire() as conn:
        messages = await message_store.after(
            conn, conversation_id, after_seq=after_seq, limit=limit, visibilities=visibilities
        )
    return [message_wire(services, m) for m in messages]
