"""What people see of a line: agents the head of their teams' lines, customers their place and an
estimated wait. Announced through QueueUpdates (coalesced and paced), never per change.

Places come from Redis (the whole line, one read); the details agents see come from PostgreSQL
for the head of the line only: a line of thousands is still shown as its first VIEW_LIMIT
entries and a `total`, and every customer in it still hears their own place.
"""

from __future__ import annotations

import time
from typing import Any
from uuid import UUID

import msgspec

from ..core import policies
from ..core.errors import not_found
from ..core.events import Event, conversation_room, team_room
from ..core.models import AgentPrincipal, Conversation, Owner
from ..core.routing import Priority, RoutingMode, estimate_wait
from ..core.wire_events import OfferEvent, OfferWithdrawn, QueueEntry, QueueEvent, QueueUpdated
from ..store import routing as routing_store
from ..store.routing import Team
from .context import Services, publish_all

# Entries agents get per line (the rest is counted in `total`).
VIEW_LIMIT = 200


async def _entries(
    services: Services, team: Team, ids: list[str], positions: dict[str, int]
) -> list[QueueEntry]:
    """Agents' view of some waiting conversations, in line order."""
    if not ids:
        return []
    async with services.db.acquire() as conn:
        rows = await routing_store.queue_entries(conn, [UUID(i) for i in ids])
    now = time.time()
    return [
        QueueEntry(
            conversation_id=e["id"],
            team_id=team.id,
            position=positions[str(e["id"])],
            priority=Priority(e["priority"]).label,  # type: ignore[arg-type]
            queued_at=e["queued_at"],
            wait_seconds=max(0, round(now - e["queued_at"].timestamp())) if e["queued_at"] else 0,
            customer_name=e["customer_name"],
            preview=(e["preview"] or "")[:140],
            page_url=(e["metadata"] or {}).get("page_url"),
            owner=Owner(e["owner"]),
        )
        for e in sorted(rows, key=lambda row: positions.get(str(row["id"]), 0))
        if str(e["id"]) in positions
    ]


async def _line(services: Services, team: Team) -> dict[str, int]:
    """Every waiting conversation of the team (id text) and its place (1 = next)."""
    waiting = await services.routing.line(team.id)
    return {conversation_id: index + 1 for index, conversation_id in enumerate(waiting)}


async def queue_snapshot(services: Services, team: Team) -> dict[str, Any]:
    """A team's line as agents see it: the head's entries and how many wait in all."""
    positions = await _line(services, team)
    head = list(positions)[:VIEW_LIMIT]
    view = QueueUpdated(
        team_id=team.id,
        mode=team.settings.mode,
        entries=tuple(await _entries(services, team, head, positions)),
        total=len(positions),
    )
    data: dict[str, Any] = msgspec.to_builtins(view)
    return data


async def publish_queue(services: Services, team: Team) -> None:
    """Push the team's line to its agents, and changed places (with an estimate) to customers."""
    positions = await _line(services, team)
    services.metrics.queue_length.labels(team.slug).set(len(positions))
    changed, added, gone = await services.routing.changed_positions(team.id, positions)
    recent = await services.routing.recent_assignment_times(team.id) if changed else []
    now = time.time()
    events = [
        Event(
            QueueEvent(
                conversation_id=UUID(conversation_id),
                team_id=team.id,
                position=position,
                estimated_wait_seconds=estimate.seconds,
                enough_data=estimate.enough_data,
            ),
            customer_rooms=(conversation_room(conversation_id),),
        )
        for conversation_id, position in changed.items()
        for estimate in (estimate_wait(position, recent, now=now),)
    ]
    head = list(positions)[:VIEW_LIMIT]
    manual = team.settings.mode is RoutingMode.MANUAL
    in_head = set(head)
    offered = [c for c in added if c not in in_head] if manual else []
    entries = await _entries(services, team, head + offered, positions)
    if manual:
        # Manual teams: each arrival is offered to the team, each departure withdraws it.
        events += [
            Event(OfferEvent(**msgspec.structs.asdict(entry)), staff_rooms=(team_room(team.id),))
            for entry in entries
            if str(entry.conversation_id) in added
        ]
        events += [
            Event(
                OfferWithdrawn(conversation_id=UUID(conversation_id), team_id=team.id),
                staff_rooms=(team_room(team.id),),
            )
            for conversation_id in gone
        ]
    view = QueueUpdated(
        team_id=team.id,
        mode=team.settings.mode,
        entries=tuple(entries[:VIEW_LIMIT]),
        total=len(positions),
    )
    events.append(Event(view, staff_rooms=(team_room(team.id),)))
    await publish_all(services, events)


async def queues_for(
    services: Services, principal: AgentPrincipal, team_id: UUID | None
) -> list[dict[str, Any]]:
    """The lines an agent may see (their teams; admins every team), or one of them."""
    async with services.db.acquire() as conn:
        teams = await routing_store.teams(conn)
    visible = [t for t in teams if policies.can_see_team(principal, t.id)]
    if team_id is not None:
        visible = [t for t in visible if t.id == team_id]
        if not visible:
            raise not_found("team")
    return [{"team": t.slug, "name": t.name, **await queue_snapshot(services, t)} for t in visible]


async def announce_position(
    services: Services, conversation: Conversation
) -> dict[str, Any] | None:
    """Tell the customer their place now, even if it did not change (after a confirmation)."""
    queue = await queue_position(services, conversation)
    if queue is not None:
        payload = msgspec.convert(queue, QueueEvent)
        event = Event(payload, customer_rooms=(conversation_room(conversation.id),))
        await publish_all(services, [event])
    return queue


async def queue_position(services: Services, conversation: Conversation) -> dict[str, Any] | None:
    """A waiting conversation's place and estimate, for the customer's start/resume answer
    (live `queue` events then carry the changes)."""
    if not conversation.waiting or conversation.team_id is None:
        return None
    rank = await services.routing.rank(conversation.team_id, conversation.id)
    if rank is None:
        return None
    recent = await services.routing.recent_assignment_times(conversation.team_id)
    estimate = estimate_wait(rank + 1, recent, now=time.time())
    return {
        "conversation_id": str(conversation.id),
        "team_id": str(conversation.team_id),
        "position": rank + 1,
        "estimated_wait_seconds": estimate.seconds,
        "enough_data": estimate.enough_data,
    }


async def announce_queue(services: Services, team_id: UUID) -> None:
    """What QueueUpdates calls: publish one team's line as it is now."""
    async with services.db.acquire() as conn:
        team = await routing_store.team(conn, team_id)
    if team is not None:
        await publish_queue(services, team)
