"""Posting messages and reading history: the one way a message enters a conversation."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from ..core import policies
from ..core.errors import ErrorCode, ParleyError, invalid
from ..core.models import (
    AgentPrincipal,
    Conversation,
    CustomerPrincipal,
    Message,
    Owner,
    Poster,
    Principal,
    Visibility,
)
from ..routing.limits import Charge
from ..store import messages as message_store
from ..store.messages import PostGuard
from . import assistant_owner, routing_ops, routing_timers
from .after_commit import follow_up
from .context import Services, UnitOfWork, unit_of_work
from .conversations import load_visible
from .wire import message_wire, message_wire_events

MAX_ATTACHMENTS_PER_MESSAGE = 10
MAX_PAGE = 200


class PostedMessage:
    """The acknowledgement of a post: the same for a first send and for every retry."""

    __slots__ = ("created", "message", "reopened")

    def __init__(self, message: Message, created: bool, reopened: bool = False) -> None:
        self.message = message
        self.created = created
        self.reopened = reopened  # a customer's message reopened a resolved conversation

    def ack(self) -> dict[str, Any]:
        return {
            "message_id": str(self.message.id),
            "conversation_id": str(self.message.conversation_id),
            "seq": self.message.seq,
            "client_id": self.message.client_id,
            "created_at": self.message.created_at.isoformat(),
            "duplicate": not self.created,
        }


def _check_body(services: Services, body: str, has_attachments: bool) -> str:
    if len(body) > services.settings.max_message_length:
        raise ParleyError(
            ErrorCode.TOO_LARGE,
            f"message body is longer than {services.settings.max_message_length} characters",
            details={"max_length": services.settings.max_message_length},
        )
    if "\x00" in body:
        raise invalid("message body must not contain NUL characters")
    if not body.strip() and not has_attachments:
        raise invalid("message body is empty")
    return body


async def post_message(
    services: Services,
    principal: Principal,
    *,
    conversation_id: UUID,
    client_id: str | None,
    body: str,
    visibility: Visibility = Visibility.PUBLIC,
    attachment_ids: list[UUID] | None = None,
    metadata: dict[str, Any] | None = None,
    charges: tuple[Charge, ...] = (),
) -> PostedMessage:
    """A customer or an agent posts (sockets and REST alike). `charges` are the transport's
    own rate limits (per socket), taken together with the conversation's."""
    attachment_ids = list(dict.fromkeys(attachment_ids or []))
    if len(attachment_ids) > MAX_ATTACHMENTS_PER_MESSAGE:
        raise invalid(f"at most {MAX_ATTACHMENTS_PER_MESSAGE} attachments per message")
    body = _check_body(services, body, bool(attachment_ids))
    policies.ensure_can_post(principal, visibility)
    async with unit_of_work(services, transaction=False) as work:
        context = await load_visible(work, principal, conversation_id)
        # After the visibility check: nobody can spend another conversation's allowance.
        await services.limits.take(Charge("messages_per_conversation", conversation_id), *charges)
        posted = await write_message(
            services,
            work,
            principal,
            conversation_id=conversation_id,
            client_id=client_id,
            body=body,
            visibility=visibility,
            attachment_ids=attachment_ids,
            metadata=metadata,
            sender_name=_sender_name(principal, context.customer_name),
        )
    if posted.created:
        sender = "customer" if isinstance(principal, CustomerPrincipal) else "agent"
        services.metrics.messages_posted.labels(sender).inc()
        # The message is stored: from here on nothing may turn the ack into an error.
        await _after_posting(services, principal, context.conversation, posted, visibility)
    return posted


async def _after_posting(
    services: Services,
    principal: Principal,
    conversation: Conversation,
    posted: PostedMessage,
    visibility: Visibility,
) -> None:
    conversation_id = conversation.id
    owner = conversation.owner
    if isinstance(principal, AgentPrincipal) and visibility is Visibility.PUBLIC:
        await follow_up(
            services,
            "unanswered_timer",
            routing_timers.agent_replied(services, conversation_id, principal.agent_id),
        )
        if owner is Owner.ASSISTANT:
            # A person answered a conversation the assistant had: the assistant steps back.
            await follow_up(
                services,
                "assistant_step_back",
                assistant_owner.agent_took_over(services, principal, conversation_id),
            )
    if posted.reopened:
        # A customer wrote into a resolved or abandoned conversation: it is routed again.
        await follow_up(
            services, "route_reopened", routing_ops.route_reopened(services, conversation_id)
        )
    customer_public = isinstance(principal, CustomerPrincipal) and visibility is Visibility.PUBLIC
    waiting_in = conversation.team_id if conversation.waiting else None
    if customer_public and waiting_in is not None:
        services.queue_updates.changed(waiting_in)  # agents' line shows the newest words
    if customer_public and (posted.reopened or owner is Owner.ASSISTANT):
        services.participant.customer_posted(posted.message)


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
) -> PostedMessage:
    """The one insert path for every message, whoever writes it: clients (through post_message),
    the assistant and Parley's own notices. Runs in the caller's unit of work; the events go out
    after its commit. With a guard, the post is refused (NotOwner) unless the conversation is
    still in the expected hands when the row is locked."""
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
    )
    if not result.created or attachment_ids:
        # A retry answers with the original; attachments need their rows. Both are rare.
        stored = await message_store.get_one(work.conn, result.id)
        assert stored is not None
        message = stored
    else:
        message = Message(
            id=result.id,
            conversation_id=conversation_id,
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
    if result.created:
        work.publish_on_commit(*message_wire_events(services, message))
    return PostedMessage(message, result.created, result.reopened)


def _sender_name(principal: Principal, customer_name: str | None) -> str | None:
    if isinstance(principal, AgentPrincipal):
        return principal.display_name
    return customer_name


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
