"""Each action's exact events: names, audiences and typed payloads (in the spirit of Zulip's
verify_action). The publisher is wrapped to record what actions hand it; events still reach
the real Socket.IO server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from typing import Any, TypeVar

import msgspec
import pytest_asyncio

from server.actions import accounts, auth, claims, intake, presence, receipts, routing_ops, typing
from server.actions.context import Services
from server.actions.posting import post_message
from server.actions.queue_view import publish_queue
from server.api.keys import SERVICES
from server.config import Settings
from server.core.events import Event
from server.core.models import (
    AgentPrincipal,
    AgentRole,
    Conversation,
    CustomerPrincipal,
    ReceiptKind,
    Visibility,
)
from server.core.routing import Priority
from server.core.wire_events import CLIENT_EVENTS, SeqAdvance
from server.store import routing as routing_store
from tests.support import RunningServer, create_agent, start_server

T = TypeVar("T")


class RecordingPublisher:
    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.events: list[tuple[asyncio.Task[Any] | None, Event]] = []

    async def publish(self, event: Event) -> None:
        # Which task published it: the action's own, or background work such as the line's
        # announcer, which runs on its own schedule.
        self.events.append((asyncio.current_task(), event))
        await self.inner.publish(event)

    def since(self, start: int) -> list[Event]:
        """Events the current task published after `start`."""
        me = asyncio.current_task()
        return [event for task, event in self.events[start:] if task is me]


class Recorded:
    def __init__(self, server: RunningServer) -> None:
        self.services: Services = server.app[SERVICES]
        self.recorder = RecordingPublisher(self.services.publisher)
        self.services.publisher = self.recorder

    async def run(self, action: Awaitable[T]) -> tuple[T, list[Event]]:
        """The action's result and the events it published, each checked against its schema."""
        start = len(self.recorder.events)
        result = await action
        events = self.recorder.since(start)
        for event in events:
            _check_schema(event)
        return result, events


def _check_schema(event: Event) -> None:
    kinds = {cls.event: cls for cls in (*CLIENT_EVENTS, SeqAdvance)}
    payload_type = kinds[event.name]
    assert type(event.payload) is payload_type
    # Through JSON and back into the strict struct: every field typed, none unknown.
    decoded = msgspec.json.decode(msgspec.json.encode(event.wire()), type=payload_type)
    assert msgspec.to_builtins(decoded) == event.wire()


def shape(events: list[Event]) -> list[tuple[str, tuple[str, ...], tuple[str, ...]]]:
    return [(e.name, e.customer_rooms, e.staff_rooms) for e in events]


@pytest_asyncio.fixture
async def recorded(settings: Settings) -> AsyncIterator[Recorded]:
    server = await start_server(settings)
    try:
        yield Recorded(server)
    finally:
        await server.stop()


def _start(
    services: Services, visitor: CustomerPrincipal, *, name: str | None = None
) -> Awaitable[tuple[Conversation, bool]]:
    """The visitor starts (or finds) their conversation, as `start_conversation` does."""
    return intake.start(
        services,
        visitor,
        name=name,
        email=None,
        attributes={},
        metadata={},
        team_slug=None,
        force_new=False,
    )


async def _agent(recorded: Recorded, name: str, *, admin: bool = False) -> AgentPrincipal:
    services = recorded.services
    agent_id = await create_agent(
        services.settings.database_url or "",
        name=name,
        role=AgentRole.ADMIN if admin else AgentRole.AGENT,
    )
    async with services.db.acquire() as conn:
        team = await routing_store.team_by_slug_or_default(conn, "support")
    assert team is not None
    role = AgentRole.ADMIN if admin else AgentRole.AGENT
    return AgentPrincipal(agent_id, role, name, frozenset({team.id}))


async def test_the_events_of_a_conversation_from_start_to_resolve(recorded: Recorded) -> None:
    services = recorded.services
    _, visitor = await auth.new_visitor(services, "127.0.0.1")
    customer_room = f"customer:{visitor.customer_id}"

    (conversation, created), events = await recorded.run(_start(services, visitor, name="Casey"))
    assert created
    room = f"conv:{conversation.id}"
    team_room = f"team:{conversation.team_id}"
    # Created (not in a team yet: every agent may see it), then in its team's line.
    assert shape(events) == [
        ("conversation_updated", (customer_room,), (room, "admins", "agents")),
        ("conversation_updated", (customer_room,), (room, "admins", team_room)),
    ]
    assert [e.wire()["reason"] for e in events] == ["created", "queued"]

    agent = await _agent(recorded, "Robin")
    _, events = await recorded.run(presence.connected(services, agent.agent_id, "c1"))
    agent_room = f"agent:{agent.agent_id}"
    assert shape(events) == [
        ("presence", (), ("agents",)),
        ("conversation_updated", (customer_room,), (room, "admins", agent_room)),
        ("assigned", (), (agent_room,)),
    ]
    update, assigned = events[1].wire(), events[2].wire()
    assert update["reason"] == assigned["reason"] == "assigned"
    assert (
        update["agent"] == assigned["agent"] == {"id": str(agent.agent_id), "display_name": "Robin"}
    )
    assert update["conversation"]["assigned_agent"] == update["agent"]
    assert assigned["customer"]["name"] == "Casey"
    assert "handover" not in assigned  # the assistant took no part

    posted, events = await recorded.run(
        post_message(services, visitor, conversation_id=conversation.id, client_id="c-1", body="Hi")
    )
    assert shape(events) == [("message", (room,), (room,))]
    assert events[0].wire()["client_id"] == "c-1" and events[0].wire()["seq"] == posted.message.seq

    note, events = await recorded.run(
        post_message(
            services,
            agent,
            conversation_id=conversation.id,
            client_id="n-1",
            body="VIP",
            visibility=Visibility.INTERNAL,
        )
    )
    # A private note: staff get the message, customers only a marker that the seq exists.
    assert shape(events) == [("message", (), (room,)), ("_seq", (room,), ())]
    assert events[1].wire() == {"conversation_id": str(conversation.id), "seq": note.message.seq}

    _, events = await recorded.run(
        typing.typing(
            services,
            agent,
            conversation_id=conversation.id,
            is_typing=True,
            internal=False,
            sender_name="Robin",
            source_sid="sid-1",
        )
    )
    assert shape(events) == [("typing", (room,), (room,))]
    assert events[0].skip_sid == "sid-1"

    _, events = await recorded.run(
        typing.typing(
            services,
            visitor,
            conversation_id=conversation.id,
            is_typing=True,
            internal=False,
            sender_name="Casey",
            source_sid=None,
        )
    )
    assert shape(events) == [("typing", (), (room,))]  # customers' typing goes to staff only

    reply, events = await recorded.run(
        post_message(
            services, agent, conversation_id=conversation.id, client_id="r-1", body="Hello"
        )
    )
    assert shape(events) == [("message", (room,), (room,))]
    assert events[0].wire()["sender_name"] == "Robin"

    read = receipts.mark(
        services,
        visitor,
        conversation_id=conversation.id,
        kind=ReceiptKind.READ,
        seq=reply.message.seq,
    )
    _, events = await recorded.run(read)
    assert shape(events) == [("receipt", (room,), (room,))]
    assert events[0].wire()["reader_kind"] == "customer"
    assert events[0].wire()["read_seq"] == reply.message.seq
    _, events = await recorded.run(
        receipts.mark(
            services,
            visitor,
            conversation_id=conversation.id,
            kind=ReceiptKind.READ,
            seq=reply.message.seq,
        )
    )
    assert events == []  # the cursor did not move: nothing to tell

    _, events = await recorded.run(routing_ops.resolve(services, agent, conversation.id))
    assert shape(events) == [
        ("conversation_updated", (customer_room,), (room, "admins", agent_room))
    ]
    assert events[0].wire()["reason"] == "resolved"


async def test_transfers_and_unassign_tell_each_agent_once(recorded: Recorded) -> None:
    services = recorded.services
    _, visitor = await auth.new_visitor(services, "127.0.0.1")
    first = await _agent(recorded, "First")
    await presence.connected(services, first.agent_id, "c1")
    (conversation, _), _ = await recorded.run(_start(services, visitor))
    second = await _agent(recorded, "Second")
    await presence.connected(services, second.agent_id, "c2")
    room = f"conv:{conversation.id}"
    customer_room = f"customer:{visitor.customer_id}"

    _, events = await recorded.run(
        routing_ops.transfer(
            services, first, conversation.id, to_agent=second.agent_id, to_team=None, note=None
        )
    )
    names = [e.name for e in events]
    # The new assignee's events, the old one's single `unassigned`, and the system note.
    assert names.count("unassigned") == 1 and names.count("assigned") == 1
    unassigned = next(e for e in events if e.name == "unassigned")
    assert unassigned.staff_rooms == (f"agent:{first.agent_id}",)
    assert unassigned.wire() == {"conversation_id": str(conversation.id), "reason": "transferred"}
    assert ("message", (), (room,)) in shape(events)  # the transfer note is private

    _, events = await recorded.run(routing_ops.unassign(services, second, conversation.id))
    assert shape(events)[:2] == [
        ("unassigned", (), (f"agent:{second.agent_id}",)),
        (
            "conversation_updated",
            (customer_room,),
            (room, "admins", f"team:{conversation.team_id}"),
        ),
    ]
    # First is online with room: the conversation goes straight back to them.
    assert [e.name for e in events[2:]] == ["conversation_updated", "assigned"]
    assert events[3].staff_rooms == (f"agent:{first.agent_id}",)


async def test_the_line_announces_places_and_the_head(recorded: Recorded) -> None:
    services = recorded.services
    _, visitor = await auth.new_visitor(services, "127.0.0.1")
    (conversation, _), _ = await recorded.run(_start(services, visitor))
    async with services.db.acquire() as conn:
        team = await routing_store.team(conn, conversation.team_id)
    assert team is not None
    start = len(recorded.recorder.events)
    await publish_queue(services, team)
    events = recorded.recorder.since(start)
    for event in events:
        _check_schema(event)
    queue = [e for e in events if e.name == "queue"]
    updated = [e for e in events if e.name == "queue_updated"]
    assert len(updated) == 1 and updated[0].staff_rooms == (f"team:{team.id}",)
    view = updated[0].wire()
    assert view["total"] == 1
    assert [entry["conversation_id"] for entry in view["entries"]] == [str(conversation.id)]
    # A customer hears their place when it changes: at most once for this one announcement.
    assert len(queue) <= 1
    assert all(e.customer_rooms == (f"conv:{conversation.id}",) for e in queue)


def test_every_client_event_has_a_distinct_name() -> None:
    names = [cls.event for cls in CLIENT_EVENTS]
    assert len(names) == len(set(names))
    assert SeqAdvance.server_only and not any(cls.server_only for cls in CLIENT_EVENTS)


async def test_a_claim_in_a_manual_team_and_the_end_of_a_session(recorded: Recorded) -> None:
    services = recorded.services
    async with services.db.acquire() as conn:
        await conn.execute(
            'UPDATE teams SET settings = settings || \'{"mode": "manual"}\'::jsonb'
            " WHERE slug = 'support'"
        )
    agent = await _agent(recorded, "Robin")
    await presence.connected(services, agent.agent_id, "c1")
    _, visitor = await auth.new_visitor(services, "127.0.0.1")
    (conversation, _), events = await recorded.run(_start(services, visitor))
    assert conversation.assigned_agent_id is None  # manual: offered, not assigned
    room = f"conv:{conversation.id}"
    agent_room = f"agent:{agent.agent_id}"
    customer_room = f"customer:{visitor.customer_id}"

    claimed, events = await recorded.run(claims.claim(services, agent, conversation.id))
    assert claimed.assigned_agent_id == agent.agent_id
    assert shape(events) == [
        ("conversation_updated", (customer_room,), (room, "admins", agent_room)),
        ("assigned", (), (agent_room,)),
    ]
    assert [e.wire()["reason"] for e in events] == ["claimed", "claimed"]

    _, events = await recorded.run(
        accounts.end_sessions(services, agent.agent_id, "password_changed")
    )
    assert shape(events) == [("session_ended", (), (agent_room,))]
    assert events[0].wire() == {"reason": "password_changed"}


async def test_an_agent_reopening_a_resolved_conversation(recorded: Recorded) -> None:
    services = recorded.services
    agent = await _agent(recorded, "Robin")
    await presence.connected(services, agent.agent_id, "c1")
    _, visitor = await auth.new_visitor(services, "127.0.0.1")
    (conversation, _), _ = await recorded.run(_start(services, visitor))
    await routing_ops.resolve(services, agent, conversation.id)
    room = f"conv:{conversation.id}"
    agent_room = f"agent:{agent.agent_id}"
    team_room = f"team:{conversation.team_id}"
    customer_room = f"customer:{visitor.customer_id}"

    _, events = await recorded.run(routing_ops.reopen(services, agent, conversation.id))
    # Reopened (as it was), back in its team's line from a new place, then assigned again:
    # the agent reopening it is online with room, so it comes straight back to them.
    assert shape(events) == [
        ("conversation_updated", (customer_room,), (room, "admins", agent_room)),
        ("conversation_updated", (customer_room,), (room, "admins", team_room)),
        ("conversation_updated", (customer_room,), (room, "admins", agent_room)),
        ("assigned", (), (agent_room,)),
    ]
    reasons = [e.wire()["reason"] for e in events]
    assert reasons == ["reopened", "reopened", "assigned", "assigned"]

    # Reopening what is open changes nothing, and says nothing.
    _, events = await recorded.run(routing_ops.reopen(services, agent, conversation.id))
    assert events == []

    # A new priority: everyone who sees the conversation hears of it.
    updated, events = await recorded.run(
        routing_ops.set_priority(services, agent, conversation.id, Priority.URGENT)
    )
    assert updated.priority == Priority.URGENT
    assert shape(events) == [
        ("conversation_updated", (customer_room,), (room, "admins", agent_room))
    ]
    assert events[0].wire()["reason"] == "priority"
    assert events[0].wire()["conversation"]["priority"] == 0
