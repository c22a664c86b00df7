"""The /agent namespace: what the agent console talks to."""

from __future__ import annotations

from typing import Any

from ..actions import assistant_runs, claims, queue_view, routing_ops
from ..actions import auth as auth_actions
from ..actions import conversations as conversation_actions
from ..actions import presence as presence_actions
from ..actions import routing as routing_actions
from ..actions.degraded import optional
from ..core.errors import ParleyError
from ..core.events import ADMINS_ROOM, ALL_AGENTS_ROOM, agent_room, team_room, to_wire
from ..core.models import AgentPrincipal
from ..core.routing import Priority
from . import schemas
from .base import ParleyNamespace
from .handlers import SocketSession, acked, refuse_connection


class AgentNamespace(ParleyNamespace):
    def principal(self, sid: str) -> AgentPrincipal:
        principal = self.session(sid).principal
        assert isinstance(principal, AgentPrincipal)
        return principal

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        try:
            hello = schemas.decode(schemas.Hello, auth)
            principal = await auth_actions.authenticate_agent(self.services, hello.token)
        except ParleyError as exc:
            raise refuse_connection(exc) from exc
        self.sessions[sid] = SocketSession(principal=principal, display_name=principal.display_name)
        await self.enter_room(sid, ALL_AGENTS_ROOM)
        await self.enter_room(sid, agent_room(principal.agent_id))
        if principal.is_admin:
            await self.enter_room(sid, ADMINS_ROOM)
        for team_id in principal.team_ids:
            await self.enter_room(sid, team_room(team_id))
        # Without Redis the connect still succeeds: the next heartbeat re-adds this connection
        # to presence (announcing it), and the next reconciliation registers the agent.
        services = self.services
        await optional(
            services,
            "agent_routing",
            routing_actions.register_agent(services, principal.agent_id),
            None,
        )
        await optional(
            services,
            "agent_presence",
            self.presence_updates.agent_connected(principal.agent_id, self.connection_id(sid)),
            None,
        )

    async def on_disconnect(self, sid: str, *args: Any) -> None:
        session = self.sessions.get(sid)
        await super().on_disconnect(sid, *args)
        if session is not None and not self.shutting_down:
            # Queued, never waiting on the Redis pool; without Redis, the connection expires
            # by itself and the sweeper announces it.
            self.presence_updates.agent_disconnected(session.principal.id, self.connection_id(sid))

    @acked
    async def on_whoami(self, sid: str, data: Any = None) -> dict[str, Any]:
        schemas.decode(schemas.Payload, data)
        return await presence_actions.whoami(self.services, self.principal(sid))

    @acked
    async def on_set_presence(self, sid: str, data: Any = None) -> dict[str, Any]:
        payload = schemas.decode(schemas.SetPresence, data)
        change = await presence_actions.choose(self.services, self.principal(sid), payload.status)
        return {"status": str(change.status), "since": change.since}

    @acked
    async def on_join(self, sid: str, data: Any = None) -> dict[str, Any]:
        payload = schemas.decode(schemas.Resume, data)
        conversation = await conversation_actions.open_for(
            self.services, self.principal(sid), payload.conversation_id
        )
        return await self.follow(sid, conversation, payload.after_seq)

    @acked
    async def on_resolve(self, sid: str, data: Any = None) -> dict[str, Any]:
        payload = schemas.decode(schemas.ConversationRef, data)
        conversation = await routing_ops.resolve(
            self.services, self.principal(sid), payload.conversation_id
        )
        return {"conversation": to_wire(conversation)}

    @acked
    async def on_reopen(self, sid: str, data: Any = None) -> dict[str, Any]:
        payload = schemas.decode(schemas.ConversationRef, data)
        conversation = await routing_ops.reopen(
            self.services, self.principal(sid), payload.conversation_id
        )
        return {"conversation": to_wire(conversation)}

    @acked
    async def on_claim(self, sid: str, data: Any = None) -> dict[str, Any]:
        payload = schemas.decode(schemas.ConversationRef, data)
        conversation = await claims.claim(
            self.services, self.principal(sid), payload.conversation_id
        )
        return {"conversation": to_wire(conversation)}

    @acked
    async def on_unassign(self, sid: str, data: Any = None) -> dict[str, Any]:
        payload = schemas.decode(schemas.ConversationRef, data)
        conversation = await routing_ops.unassign(
            self.services, self.principal(sid), payload.conversation_id
        )
        return {"conversation": to_wire(conversation)}

    @acked
    async def on_transfer(self, sid: str, data: Any = None) -> dict[str, Any]:
        payload = schemas.decode(schemas.Transfer, data)
        conversation = await routing_ops.transfer(
            self.services,
            self.principal(sid),
            payload.conversation_id,
            to_agent=payload.to_agent_id,
            to_team=payload.to_team_id,
            note=payload.note,
        )
        return {"conversation": to_wire(conversation)}

    @acked
    async def on_set_priority(self, sid: str, data: Any = None) -> dict[str, Any]:
        payload = schemas.decode(schemas.SetPriority, data)
        conversation = await routing_ops.set_priority(
            self.services,
            self.principal(sid),
            payload.conversation_id,
            Priority.parse(payload.priority),
        )
        return {"conversation": to_wire(conversation)}

    @acked
    async def on_get_queue(self, sid: str, data: Any = None) -> dict[str, Any]:
        payload = schemas.decode(schemas.GetQueue, data)
        queues = await queue_view.queues_for(self.services, self.principal(sid), payload.team_id)
        return {"queues": queues}

    @acked
    async def on_suggest_reply(self, sid: str, data: Any = None) -> dict[str, Any]:
        """A draft reply from the help center: the ack names the request, and the draft comes to
        this socket as `reply_suggestion`. It is never posted; the agent edits and sends it."""
        payload = schemas.decode(schemas.SuggestReply, data)
        request_id = await assistant_runs.request_suggestion(
            self.services, self.principal(sid), payload.conversation_id, reply_to=sid
        )
        return {"request_id": str(request_id)}
