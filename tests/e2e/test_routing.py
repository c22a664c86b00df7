"""Routing end to end: backlog draining, fairness, manual claims, grace periods, unanswered
chats, transfers, reopen, queue positions, abandonment and recovery from a Redis wipe."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable

import asyncpg
import pytest

from server.api.keys import SERVICES
from server.config import Settings
from server.core.models import PresenceStatus
from server.routing.presence import PresenceStore
from tests.e2e.routing_support import (
    add_team,
    assignee,
    eventually,
    online_agent,
    set_team_mode,
    waiting_customer,
)
from tests.support import RunningServer, agent, customer, start_server


@pytest.fixture
def server_options() -> dict[str, object]:
    return {
        "agent_grace_seconds": 1.5,
        "unanswered_seconds": 0,
        "abandon_seconds": 1.0,
        "routing_tick_seconds": 0.1,
        "reconcile_seconds": 3600,
    }


async def test_backlog_drains_to_an_agent_coming_online_oldest_first(server: RunningServer) -> None:
    waiting = []
    for i in range(10):
        cust, conversation_id = await waiting_customer(server, name=f"C{i}")
        waiting.append((cust, conversation_id))  # each enters the line after the one before
    position = waiting[9][0].started["queue"]
    assert position["position"] == 10
    assert position["enough_data"] is False and position["estimated_wait_seconds"] is None

    agent_id, _, staff = await online_agent(server, "Robin", max_chats=3)
    ids = [c for _, c in waiting]
    got = await eventually(lambda: _assigned_to(server, ids, agent_id, 3))
    assert got == ids[:3]  # the three longest-waiting, at once
    received = await staff.log.wait_for("assigned", count=3)
    assert {e["conversation"]["id"] for e in received} == set(ids[:3])
    assert {e["customer"]["name"] for e in received} == {"C0", "C1", "C2"}
    # Everyone still waiting moved up three places.
    await waiting[9][0].log.wait_for("queue", lambda e: e["position"] == 7)
    told = await waiting[0][0].log.wait_for(
        "conversation_updated", lambda e: e["reason"] == "assigned"
    )
    assert told[0]["agent"]["display_name"] == "Robin"

    # Capacity frees: the next in line is assigned at once.
    await staff.ok("resolve", {"conversation_id": ids[0]})
    assert await eventually(lambda: _assigned_to(server, ids, agent_id, 3)) == ids[1:4]
    for cust, _ in waiting:
        await cust.close()
    await staff.close()


async def _assigned_to(server: RunningServer, ids: list[str], agent_id: uuid.UUID, count: int):
    conn = await asyncpg.connect(server.settings.database_url)
    try:
        rows = await conn.fetch(
            """
            SELECT id FROM conversations WHERE assigned_agent_id = $1 AND status = 'open'
             ORDER BY queued_at
            """,
            agent_id,
        )
    finally:
        await conn.close()
    found = [str(r["id"]) for r in rows]
    return found if len(found) == count else None


async def test_least_loaded_agent_gets_the_next_chat(server: RunningServer) -> None:
    a_id, _, a = await online_agent(server, "A", max_chats=5)
    first = [await waiting_customer(server) for _ in range(2)]
    await eventually(lambda: _assigned_to(server, [c for _, c in first], a_id, 2))
    b_id, _, b = await online_agent(server, "B", max_chats=5)
    _, later = await waiting_customer(server)
    assert await eventually(lambda: assignee(server, later)) == b_id
    for cust, _ in first:
        await cust.close()
    await a.close()
    await b.close()


async def test_away_keeps_chats_but_takes_no_new_ones(server: RunningServer) -> None:
    agent_id, _, staff = await online_agent(server, "Robin")
    cust, first = await waiting_customer(server)
    assert await eventually(lambda: assignee(server, first)) == agent_id
    await staff.ok("set_presence", {"status": "away"})
    cust2, second = await waiting_customer(server)
    # Its start was acknowledged after the line was drained: it stayed in line.
    assert await assignee(server, second) is None
    assert await assignee(server, first) == agent_id
    await staff.ok("set_presence", {"status": "online"})  # back: the waiting one comes at once
    assert await eventually(lambda: assignee(server, second)) == agent_id
    await cust.close()
    await cust2.close()
    await staff.close()


async def test_agents_see_what_a_waiting_customer_last_wrote(server: RunningServer) -> None:
    _agent_id, _, staff = await online_agent(server, "Robin")
    await staff.ok("set_presence", {"status": "away"})  # watching the line, taking nothing
    cust, conversation_id = await waiting_customer(server, name="Casey")

    def preview(text: str):
        return lambda e: (
            [x["preview"] for x in e["entries"] if x["conversation_id"] == conversation_id]
            == [text]
        )

    await staff.log.wait_for("queue_updated", preview(""))
    for text in ("Hello?", "My order never arrived"):
        await cust.ok(
            "send_message", {"conversation_id": conversation_id, "client_id": text, "body": text}
        )
        await staff.log.wait_for("queue_updated", preview(text))
    await cust.close()
    await staff.close()


async def test_manual_mode_claim_race_has_exactly_one_winner(server: RunningServer) -> None:
    await set_team_mode(server, "support", mode="manual")
    a_id, _, a = await online_agent(server, "A")
    b_id, _, b = await online_agent(server, "B")
    cust, conversation_id = await waiting_customer(server)
    assert await assignee(server, conversation_id) is None  # offered, not assigned
    # Both are offered it (announcements are coalesced: a conversation claimed before its
    # announcement is simply never offered, so the race starts once both have the offer).
    for side in (a, b):
        offered = await side.log.wait_for("offer")
        assert [o["conversation_id"] for o in offered] == [conversation_id]
    snapshot = await a.ok("get_queue", {})
    entries = snapshot["queues"][0]["entries"]
    assert [e["conversation_id"] for e in entries] == [conversation_id]
    results = await asyncio.gather(
        a.call("claim", {"conversation_id": conversation_id}),
        b.call("claim", {"conversation_id": conversation_id}),
    )
    winners = [r for r in results if r["ok"]]
    losers = [r for r in results if not r["ok"]]
    assert len(winners) == 1 and len(losers) == 1
    assert losers[0]["error"]["code"] == "conflict"
    assert (
        "first" in losers[0]["error"]["message"]
        or "no longer waiting" in losers[0]["error"]["message"]
    )
    assert await assignee(server, conversation_id) in {a_id, b_id}
    # Both see the offer withdrawn and the line empty.
    for side in (a, b):
        await side.log.wait_for(
            "offer_withdrawn", lambda e: e["conversation_id"] == conversation_id
        )
        await side.log.wait_for("queue_updated", lambda e: e["entries"] == [])
    await cust.close()
    await a.close()
    await b.close()


async def test_grace_period_then_requeue_at_original_places(server: RunningServer) -> None:
    agent_id, token, staff = await online_agent(server, "Robin", max_chats=2)
    cust1, first = await waiting_customer(server, name="first")
    cust2, second = await waiting_customer(server, name="second")
    await eventually(lambda: _assigned_to(server, [first, second], agent_id, 2))
    cust3, _third = await waiting_customer(server, name="third")  # waits: Robin is full

    # Back within the grace period: its clock stops and nothing moves.
    timers = server.app[SERVICES].timers
    await staff.close()
    await eventually(lambda: timers.pending("grace", agent_id))
    staff = await agent(server.url, token)
    await eventually(lambda: _not(timers.pending("grace", agent_id)))
    assert await assignee(server, first) == agent_id and await assignee(server, second) == agent_id

    # Gone for good: after the grace, both go back ahead of the one who came later.
    await staff.close()
    await eventually(lambda: timers.pending("grace", agent_id))
    assert await assignee(server, first) == agent_id  # not before the grace ends
    await cust1.log.wait_for("conversation_updated", lambda e: e["reason"] == "requeued", timeout=5)
    positions = await cust3.log.wait_for("queue", lambda e: e["position"] == 3, timeout=5)
    assert positions
    p1 = (await cust1.log.wait_for("queue", lambda e: True))[-1]["position"]
    p2 = (await cust2.log.wait_for("queue", lambda e: True))[-1]["position"]
    assert (p1, p2) == (1, 2)
    for c in (cust1, cust2, cust3):
        await c.close()


async def _assigned_to_agent(
    server: RunningServer, conversation_id: str, agent_id: uuid.UUID
) -> bool:
    return await assignee(server, conversation_id) == agent_id


async def test_unanswered_chat_is_offered_to_another_agent(settings: Settings) -> None:
    running = await start_server(
        settings.with_overrides(unanswered_seconds=1.0, routing_tick_seconds=0.1)
    )
    try:
        a_id, _, a = await online_agent(running, "Silent", max_chats=1)
        cust, conversation_id = await waiting_customer(running)
        assert await eventually(lambda: assignee(running, conversation_id)) == a_id
        b_id, _, b = await online_agent(running, "Helpful", max_chats=1)
        told = await a.log.wait_for("unassigned", lambda e: e["reason"] == "unanswered", timeout=5)
        # Told after the requeue committed: PostgreSQL no longer has it with the silent agent.
        assert await assignee(running, conversation_id) != a_id
        await eventually(lambda: _assigned_to_agent(running, conversation_id, b_id))
        # A later event to the same socket orders after any duplicate: there is none.
        await b.ok("set_presence", {"status": "away"})
        await a.log.wait_for("presence", lambda e: e.get("status") == "away")
        assert (
            a.log.of("unassigned")
            == told
            == [{"conversation_id": conversation_id, "reason": "unanswered"}]
        )
        # Replying in time stops the clock: B's deadline is gone once the reply is acknowledged.
        timers = running.app[SERVICES].timers
        assert await timers.pending("unanswered", f"{conversation_id}/{b_id}")
        await b.ok(
            "send_message", {"conversation_id": conversation_id, "client_id": "r", "body": "Hi!"}
        )
        assert not await timers.pending("unanswered", f"{conversation_id}/{b_id}")
        assert await assignee(running, conversation_id) == b_id
        await cust.close()
        await a.close()
        await b.close()
    finally:
        await running.stop()


async def test_transfer_to_agent_and_to_team(server: RunningServer) -> None:
    billing = await add_team(server, "billing", "Billing")
    a_id, _, a = await online_agent(server, "A")
    cust, conversation_id = await waiting_customer(server)
    assert await eventually(lambda: assignee(server, conversation_id)) == a_id
    b_id, _, b = await online_agent(server, "B")
    moved = await a.ok(
        "transfer",
        {"conversation_id": conversation_id, "to_agent_id": str(b_id), "note": "knows invoices"},
    )
    assert moved["conversation"]["assigned_agent_id"] == str(b_id)
    await b.log.wait_for("assigned", lambda e: e["reason"] == "transferred")
    await a.log.wait_for("unassigned", lambda e: e["reason"] == "transferred")
    told = await cust.log.wait_for("conversation_updated", lambda e: e["reason"] == "transferred")
    assert told[0]["agent"]["display_name"] == "B"
    # The note explains the transfer to staff only.
    notes = await b.ok("history", {"conversation_id": conversation_id})
    assert any(
        "transferred this conversation to B" in m["body"] and m["visibility"] == "internal"
        for m in notes["messages"]
    )
    customer_view = await cust.ok("history", {"conversation_id": conversation_id})
    assert all(m["visibility"] == "public" for m in customer_view["messages"])

    # An offline target is refused with a clear error.
    c_id, _, c = await online_agent(server, "C")
    await c.close()
    await b.log.wait_for(
        "presence", lambda e: e["agent_id"] == str(c_id) and e["status"] == "offline"
    )
    refused = await b.call(
        "transfer", {"conversation_id": conversation_id, "to_agent_id": str(c_id)}
    )
    assert refused["ok"] is False and "not online" in refused["error"]["message"]

    # To a team: it waits in that team's line (nobody online there) and leaves B.
    d_id, _, d = await online_agent(server, "D", teams=("billing",))
    await d.ok("set_presence", {"status": "away"})
    await b.ok("transfer", {"conversation_id": conversation_id, "to_team_id": str(billing)})
    assert await eventually(lambda: _team_and_waiting(server, conversation_id, billing))
    # The customer is told which team it went to, and that nobody is helping yet.
    to_team = await cust.log.wait_for(
        "conversation_updated", lambda e: e["reason"] == "transferred" and "team" in e
    )
    assert (
        to_team[0]["team"] == {"id": str(billing), "name": "Billing"} and "agent" not in to_team[0]
    )
    await d.ok("set_presence", {"status": "online"})
    assert await eventually(lambda: assignee(server, conversation_id)) == d_id
    await cust.close()
    for side in (a, b, d):
        await side.close()


async def _not(check: Awaitable[bool]) -> bool:
    return not await check


async def _is_offline(presence: PresenceStore, agent_id: uuid.UUID) -> bool:
    status, _ = await presence.status(agent_id)
    return status is PresenceStatus.OFFLINE


async def _team_and_waiting(server: RunningServer, conversation_id: str, team: uuid.UUID) -> bool:
    conn = await asyncpg.connect(server.settings.database_url)
    try:
        row = await conn.fetchrow(
            "SELECT team_id, waiting FROM conversations WHERE id = $1", uuid.UUID(conversation_id)
        )
        return row["team_id"] == team and row["waiting"]
    finally:
        await conn.close()


async def test_reopen_routes_again_and_never_to_an_offline_agent(server: RunningServer) -> None:
    a_id, _, a = await online_agent(server, "A")
    cust, conversation_id = await waiting_customer(server)
    assert await eventually(lambda: assignee(server, conversation_id)) == a_id
    await a.ok("resolve", {"conversation_id": conversation_id})
    await a.close()  # A goes offline
    presence = server.app[SERVICES].presence
    await eventually(lambda: _is_offline(presence, a_id))
    await cust.ok(
        "send_message",
        {"conversation_id": conversation_id, "client_id": "back", "body": "Still broken"},
    )
    # The reopened conversation was routed before the message was acknowledged.
    await cust.log.wait_for("conversation_updated", lambda e: e["reason"] == "reopened")
    assert await assignee(server, conversation_id) is None  # waiting, not given to offline A
    b_id, _, b = await online_agent(server, "B")
    assert await eventually(lambda: assignee(server, conversation_id)) == b_id
    await cust.close()
    await b.close()


async def test_unassign_puts_it_back_and_priority_jumps_the_line(server: RunningServer) -> None:
    a_id, _, a = await online_agent(server, "A", max_chats=1)
    cust1, first = await waiting_customer(server)
    assert await eventually(lambda: assignee(server, first)) == a_id
    cust2, _second = await waiting_customer(server)
    cust3, third = await waiting_customer(server)
    admin_id, _, admin = await online_agent(server, "Boss", max_chats=0)
    await admin.ok("set_presence", {"status": "away"})
    from server.core.models import AgentRole  # noqa: F401 - admin role set below

    conn = await asyncpg.connect(server.settings.database_url)
    await conn.execute("UPDATE agents SET role = 'admin' WHERE id = $1", admin_id)
    await conn.close()
    admin2 = await _reconnect_admin(server, admin)
    await admin2.ok("set_priority", {"conversation_id": third, "priority": "urgent"})
    await cust3.log.wait_for("queue", lambda e: e["position"] == 1)
    await a.ok("unassign", {"conversation_id": first})
    # A's capacity freed and went to the urgent one; the unassigned one kept its (first) place.
    assert await eventually(lambda: assignee(server, third)) == a_id
    await cust1.log.wait_for("queue", lambda e: e["position"] == 1)
    for c in (cust1, cust2, cust3, a, admin2):
        await c.close()


async def _reconnect_admin(server: RunningServer, old):
    await old.close()
    from tests.support import login  # noqa: F401

    conn = await asyncpg.connect(server.settings.database_url)
    email = await conn.fetchval("SELECT email FROM agents WHERE role = 'admin' LIMIT 1")
    await conn.close()
    from tests.support import login as do_login

    token = await do_login(server.url, email)
    return await agent(server.url, token)


async def test_a_customer_who_leaves_the_line_is_abandoned_and_can_come_back(
    server: RunningServer,
) -> None:
    cust = await customer(server.url)
    token = (await cust.ok("session"))["visitor_token"]
    conversation_id = (await cust.ok("start_conversation", {}))["conversation"]["id"]
    await cust.close()

    async def status() -> str:
        conn = await asyncpg.connect(server.settings.database_url)
        try:
            return await conn.fetchval(
                "SELECT status FROM conversations WHERE id = $1", uuid.UUID(conversation_id)
            )
        finally:
            await conn.close()

    assert await eventually(lambda: _is(status, "abandoned"), timeout=5)
    back = await customer(server.url, token)
    resumed = await back.ok("resume", {"conversation_id": conversation_id, "after_seq": 0})
    assert await eventually(lambda: _is(status, "open"))
    assert resumed["queue"]["position"] == 1
    agent_id, _, staff = await online_agent(server, "A")
    assert await eventually(lambda: assignee(server, conversation_id)) == agent_id
    await back.close()
    await staff.close()


async def _is(check, expected):
    return (await check()) == expected


async def test_queue_positions_move_and_estimates_appear_with_data(server: RunningServer) -> None:
    _agent_id, _, staff = await online_agent(server, "A", max_chats=1)
    seen = []
    for _ in range(7):
        cust, conversation_id = await waiting_customer(server)
        seen.append((cust, conversation_id))
    await eventually(lambda: assignee(server, seen[0][1]))
    last = seen[-1][0]
    assert last.started["queue"]["position"] == 6
    # Serve five in a row: each resolve moves the line, and the estimate gets real data.
    for index in range(5):
        await staff.ok("resolve", {"conversation_id": seen[index][1]})
        await eventually(lambda i=index: assignee(server, seen[i + 1][1]))
    update = await last.log.wait_for("queue", lambda e: e["position"] == 1)
    assert update[-1]["enough_data"] is True
    assert isinstance(update[-1]["estimated_wait_seconds"], int)
    for cust, _ in seen:
        await cust.close()
    await staff.close()


async def test_a_long_line_shows_agents_its_head_and_every_customer_their_place(
    server: RunningServer, monkeypatch
) -> None:
    from server.actions import queue_view

    monkeypatch.setattr(queue_view, "VIEW_LIMIT", 3)
    _agent_id, _, staff = await online_agent(server, "A", max_chats=1)
    await staff.ok("set_presence", {"status": "away"})  # nobody takes anything: the line grows
    seen = [await waiting_customer(server, name=f"C{n}") for n in range(6)]
    ids = [conversation_id for _, conversation_id in seen]

    def full_line(update: dict) -> bool:
        return update["total"] == 6

    update = (await staff.log.wait_for("queue_updated", full_line))[-1]
    assert [e["conversation_id"] for e in update["entries"]] == ids[:3]
    assert [e["position"] for e in update["entries"]] == [1, 2, 3]
    (queue,) = (await staff.ok("get_queue"))["queues"]
    assert (queue["total"], len(queue["entries"])) == (6, 3)

    # Past the head of the line, customers still hear their place move.
    await staff.ok("set_presence", {"status": "online"})
    last = seen[-1][0]
    await last.log.wait_for("queue", lambda e: e["position"] == 5)
    for cust, _ in seen:
        await cust.close()
    await staff.close()


async def test_only_identified_customers_may_ask_for_a_priority(settings: Settings) -> None:
    from server.auth.identity import identity_hash

    secret = "identity-secret-0123456789"
    running = await start_server(settings.with_overrides(identity_secret=secret))
    try:
        anonymous = await customer(running.url)
        refused = await anonymous.call("start_conversation", {"priority": "urgent"})
        assert refused["ok"] is False and refused["error"]["code"] == "forbidden"
        first_customer, _ = await waiting_customer(running)
        vip = await customer(running.url)
        await vip.ok("identify", {"user_id": "vip-1", "hash": identity_hash(secret, "vip-1")})
        started = await vip.ok("start_conversation", {"priority": "urgent"})
        assert started["queue"]["position"] == 1  # ahead of the one who came first
        assert started["conversation"]["priority"] == 0
        for client in (anonymous, first_customer, vip):
            await client.close()
    finally:
        await running.stop()


async def test_reopening_an_open_conversation_changes_nothing(server: RunningServer) -> None:
    a_id, _, a = await online_agent(server, "A")
    cust, conversation_id = await waiting_customer(server)
    assert await eventually(lambda: assignee(server, conversation_id)) == a_id
    _b_id, _, b = await online_agent(server, "B")  # free to take whatever comes back in line
    again = await a.ok("reopen", {"conversation_id": conversation_id})
    assert again["conversation"]["assigned_agent_id"] == str(a_id)
    assert await assignee(server, conversation_id) == a_id  # not handed to B
    # A later event to the customer orders after any update the reopen could have caused.
    await a.ok("send_message", {"conversation_id": conversation_id, "client_id": "x", "body": "Hi"})
    await cust.log.wait_for("message", lambda m: m["client_id"] == "x")
    assert [
        e["reason"] for e in cust.log.of("conversation_updated") if e["reason"] == "reopened"
    ] == []
    for side in (cust, a, b):
        await side.close()
