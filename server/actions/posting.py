"""Posting a message, and what follows once it is stored: the unanswered-chat clock stops,
the assistant steps back for a person, a closed conversation is routed again, the line's
preview moves, the assistant answers. Handlers (sockets and REST) call post_message; no other
action imports this module, so what follows a post never loops back into the modules it uses.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from ..core import policies
from ..core.errors import ErrorCode, ParleyError, invalid
from ..core.models import (
    AgentPrincipal,
    Conversation,
    CustomerPrincipal,
    Owner,
    Principal,
    Visibility,
)
from ..observability.metrics import labelled
from ..routing.limits import Charge
from . import claims, routing_ops, routing_timers
from .after_commit import follow_up
from .context import Services, unit_of_work
from .conversations import get_visible
from .messages import MAX_ATTACHMENTS_PER_MESSAGE, PostedMessage, write_grouped, write_message


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
    # The post is one statement that also checks who may post (policies.view_scope), so the
    # limits are taken before it; what a post the poster may not make took is given back.
    taken = (Charge("messages_per_conversation", conversation_id), *charges)
    try:
        await services.limits.take(*taken)
    except ParleyError as refused:
        if refused.code is ErrorCode.RATE_LIMITED:
            # Only those who may see the conversation learn that it is busy.
            await get_visible(services, principal, conversation_id)
        raise
    sender_name = principal.display_name if isinstance(principal, AgentPrincipal) else None
    scope = policies.view_scope(principal)
    try:
        if services.posts is not None and not attachment_ids:
            posted = await write_grouped(
                services,
                services.posts,
                principal,
                conversation_id=conversation_id,
                client_id=client_id,
                body=body,
                visibility=visibility,
                metadata=metadata,
                sender_name=sender_name,
                scope=scope,
            )
        else:
            async with unit_of_work(services, transaction=False) as work:
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
                    sender_name=sender_name,
                    scope=scope,
                )
    except ParleyError as failed:
        if failed.code is ErrorCode.NOT_FOUND:
            # Nobody spends another conversation's allowance (nor their own on it).
            await services.limits.give_back(*taken)
        raise
    conversation = posted.conversation
    assert conversation is not None
    if posted.created:
        sender = "customer" if isinstance(principal, CustomerPrincipal) else "agent"
        labelled(services.metrics.messages_posted, sender).inc()
        # The message is stored: from here on nothing may turn the ack into an error.
        await _after_posting(services, principal, conversation, posted, visibility)
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
                claims.agent_took_over(services, principal, conversation_id),
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
