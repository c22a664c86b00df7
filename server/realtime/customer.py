"""The /customer namespace: what the widget talks to."""

from __future__ import annotations

from typing import Any

from ..actions import assistant_owner, intake, queue_view
from ..actions import auth as auth_actions
from ..actions import conversations as conversation_actions
from ..actions import identity as identity_actions
from ..actions.degraded import optional
from ..core.errors import ParleyError
from ..core.events import conversation_room, customer_room, to_wire
from ..core.models import ConversationStatus, CustomerPrincipal
from ..core.routing import Priority
from . import schemas
from .base import ParleyNamespace
from .handlers import SocketSession, acked, refuse_connection, socket_client_address


class CustomerNamespace(ParleyNamespace):
    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        address = socket_client_address(environ, self.services.settings.proxy_hops)
        try:
            hello = schemas.decode(schemas.Hello, auth)
            if hello.token:
                principal = await auth_actions.authenticate_visitor(self.services, hello.token)
                token = hello.token
            else:
                token, principal = await auth_actions.new_visitor(self.services, address)
        except ParleyError as exc:
            raise refuse_connection(exc) from exc
        self.sessions[sid] = SocketSession(
            principal=principal,
            client_address=address,
        )
        self._tokens[sid] = token
        await self.enter_room(sid, customer_room(principal.customer_id))
        await optional(
            self.services,
            "customer_presence",
            self.presence_updates.customer_connected(
                principal.customer_id, self.connection_id(sid)
            ),
            None,
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._tokens: dict[str, str] = {}

    async def on_disconnect(self, sid: str, *args: Any) -> None:
        self._tokens.pop(sid, None)
        session = self.sessions.get(sid)
        await super().on_disconnect(sid, *args)
        if session is not None and not self.shutting_down:
            self.presence_updates.customer_disconnected(
                session.principal.id, self.connection_id(sid)
            )

    def principal(self, sid: str) -> CustomerPrincipal:
        principal = self.session(sid).principal
        assert isinstance(principal, CustomerPrincipal)
        return principal

    @acked
    async def on_session(self, sid: str, data: Any = None) -> dict[str, Any]:
        """Who this socket is: the visitor id and the token to keep for next time."""
        schemas.decode(schemas.Payload, data)
        settings = self.services.settings
        return {
            "customer_id": str(self.principal(sid).customer_id),
            "visitor_token": self._tokens.get(sid),
            "assistant": {
                "name": settings.assistant_name,
                "avatar_url": settings.assistant_avatar_url or None,
            },
        }

    @acked
    async def on_start_conversation(self, sid: str, data: Any = None) -> dict[str, Any]:
        payload = schemas.decode(schemas.StartConversation, data)
        metadata = {
            key: value
            for key, value in (("page_url", payload.page_url), ("referrer", payload.referrer))
            if value
        }
        conversation, created = await intake.start(
            self.services,
            self.principal(sid),
            name=payload.name,
            email=payload.email,
            attributes=payload.attributes,
            metadata=metadata,
            team_slug=payload.team,
            force_new=payload.new,
            priority=Priority.parse(payload.priority) if payload.priority else None,
            client_address=self.session(sid).client_address,
        )
        if payload.name:
            self.session(sid).display_name = payload.name
        followed = await self.follow(sid, conversation, payload.after_seq if not created else 0)
        queue = await queue_view.queue_position(self.services, conversation)
        return {**followed, "created": created, "queue": queue}

    @acked
    async def on_identify(self, sid: str, data: Any = None) -> dict[str, Any]:
        """Bind the visitor to a site's signed-in user, proven by the site's HMAC."""
        payload = schemas.decode(schemas.Identify, data)
        result = await identity_actions.identify(
            self.services,
            self.principal(sid),
            user_id=payload.user_id,
            user_hash=payload.hash,
            name=payload.name,
            email=payload.email,
        )
        if result.switched:
            await self._become(sid, CustomerPrincipal(customer_id=result.customer_id))
        self._tokens[sid] = result.visitor_token
        if payload.name:
            self.session(sid).display_name = payload.name
        return {
            "customer_id": str(result.customer_id),
            "visitor_token": self._tokens.get(sid),
            "identity_verified": True,
            "switched": result.switched,
        }

    async def _become(self, sid: str, principal: CustomerPrincipal) -> None:
        """Turn this socket into another customer: it stops following the old one's
        conversations (the client resumes what it needs) and gets the new one's updates."""
        session = self.session(sid)
        old = self.principal(sid)
        await self.typing.stop_all(sid)
        self.gate.close(self.namespace, sid)
        for key in session.following:
            await self.leave_room(sid, conversation_room(key))
        session.following = frozenset()
        await self.leave_room(sid, customer_room(old.customer_id))
        session.principal = principal
        await self.enter_room(sid, customer_room(principal.customer_id))

    @acked
    async def on_resume(self, sid: str, data: Any = None) -> dict[str, Any]:
        payload = schemas.decode(schemas.Resume, data)
        conversation = await intake.resume(
            self.services, self.principal(sid), payload.conversation_id
        )
        followed = await self.follow(sid, conversation, payload.after_seq)
        # Redis holds the line: while it is down the answer says nothing about it.
        queue = await optional(
            self.services,
            "queue_position",
            queue_view.queue_position(self.services, conversation),
            None,
        )
        return {**followed, "queue": queue}

    @acked
    async def on_list_conversations(self, sid: str, data: Any = None) -> dict[str, Any]:
        payload = schemas.decode(schemas.ListConversations, data)
        found = await conversation_actions.list_for_customer(
            self.services,
            self.principal(sid),
            limit=payload.limit,
            status=ConversationStatus(payload.status) if payload.status else None,
        )
        return {"conversations": [to_wire(c) for c in found]}

    @acked
    async def on_request_human(self, sid: str, data: Any = None) -> dict[str, Any]:
        """Ask for a person: the ack carries the place in line (null once a person has it)."""
        payload = schemas.decode(schemas.RequestHuman, data)
        conversation, queue = await assistant_owner.request_human(
            self.services, self.principal(sid), payload.conversation_id
        )
        return {"conversation": to_wire(conversation), "queue": queue}

    @acked
    async def on_mark_solved(self, sid: str, data: Any = None) -> dict[str, Any]:
        payload = schemas.decode(schemas.MarkSolved, data)
        conversation = await assistant_owner.resolve_by_customer(
            self.services, self.principal(sid), payload.conversation_id, via="event"
        )
        return {"conversation": to_wire(conversation)}
