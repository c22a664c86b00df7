"""The independent client's walk, the line: what visitors and agents see of routing (queue,
queue_updated, offers, assigned, claim, transfer), as docs/protocol.md says."""

from __future__ import annotations

import uuid
from typing import Any

from server.core.models import AgentRole
from tests.e2e.wire_client import CUSTOMER, QUEUE_ENTRY, WireClient, rest, sign_in
from tests.support import Servers


async def test_the_line_as_the_visitor_and_the_agents_see_it(servers: Servers) -> None:
    server = await servers.start()
    signed_in = await sign_in(server)
    agent_id = signed_in["agent"]["id"]
    staff = await WireClient.open(server.url, "/agent", {"token": signed_in["token"]})
    away = await staff.ok("set_presence", {"status": "away"})
    assert set(away) == {"status", "since"} and away["status"] == "away"
    presence = await staff.wait("presence", 2)  # its own sockets get it too
    assert set(presence[-1]) == {"agent_id", "status", "since"}
    assert (presence[-1]["agent_id"], presence[-1]["status"]) == (agent_id, "away")

    visitor = await WireClient.open(server.url, "/customer", {})
    asked = await visitor.error("start_conversation", {"priority": "urgent"}, "forbidden")
    assert "identified" in asked["message"]
    await visitor.error("start_conversation", {"team": "no-such-team"}, "validation_failed")
    started = await visitor.ok("start_conversation", {"name": "Casey", "page_url": "https://x/"})
    conversation_id = started["conversation"]["id"]
    assert started["queue"]["position"] == 1

    async def line_of_one() -> dict[str, Any]:
        while True:
            for update in staff.events["queue_updated"]:
                if update["total"] == 1:
                    return dict(update)
            await staff.wait("queue_updated", len(staff.events["queue_updated"]) + 1)

    line = await line_of_one()
    assert set(line) == {"team_id", "mode", "entries", "total"} and line["mode"] == "auto"
    entry = line["entries"][0]
    assert set(entry) == QUEUE_ENTRY
    assert entry["conversation_id"] == conversation_id and entry["position"] == 1
    assert (entry["priority"], entry["owner"]) == ("normal", "queue")
    assert (entry["customer_name"], entry["page_url"]) == ("Casey", "https://x/")
    queues = await staff.ok("get_queue", {})
    assert set(queues) == {"queues"} and len(queues["queues"]) == 1
    queue = queues["queues"][0]
    assert set(queue) == {"team_id", "team", "name", "mode", "total", "entries"}
    assert (queue["team"], queue["total"], queue["entries"]) == ("support", 1, [entry])

    refused = await staff.error("claim", {"conversation_id": conversation_id}, "conflict")
    assert "online" in refused["message"]
    await staff.error("claim", {"conversation_id": str(uuid.uuid4())}, "not_found")
    await staff.ok("set_presence", {"status": "online"})
    assigned = (await staff.wait("assigned"))[0]
    assert set(assigned) == {"conversation", "reason", "agent", "customer"}
    assert set(assigned["customer"]) == CUSTOMER and assigned["customer"]["name"] == "Casey"
    assert assigned["conversation"]["owner"] == "human"

    async def assignment_seen() -> dict[str, Any]:
        while True:
            for update in visitor.events["conversation_updated"]:
                if update["reason"] == "assigned":
                    return dict(update)
            await visitor.wait(
                "conversation_updated", len(visitor.events["conversation_updated"]) + 1
            )

    update = await assignment_seen()
    assert update["agent"] == {"id": agent_id, "display_name": "Robin"}
    assert update["conversation"]["assigned_agent_id"] == agent_id
    assert update["conversation"]["assigned_agent"] == update["agent"]
    assert all(
        "assigned_agent" not in u["conversation"]
        for u in visitor.events["conversation_updated"]
        if u["reason"] in ("created", "queued")
    )
    await staff.error("get_queue", {"team_id": str(uuid.uuid4())}, "not_found")
    await visitor.close()
    await staff.close()


async def test_a_manual_team_offers_and_agents_claim_and_transfer(servers: Servers) -> None:
    server = await servers.start()
    admin = await sign_in(server, AgentRole.ADMIN)
    status, _, teams = await rest("GET", f"{server.url}/api/v1/admin/teams", admin["token"])
    assert status == 200
    [team] = [t for t in teams["data"]["teams"] if t["slug"] == "support"]
    status, _, _ = await rest(
        "PATCH",
        f"{server.url}/api/v1/admin/teams/{team['id']}",
        admin["token"],
        {"name": team["name"], "settings": {"mode": "manual", "capacity_default": 3}},
    )
    assert status == 200
    first_in, second_in = await sign_in(server), await sign_in(server)
    first = await WireClient.open(server.url, "/agent", {"token": first_in["token"]})
    second = await WireClient.open(server.url, "/agent", {"token": second_in["token"]})
    # Without max_chats of their own, agents get their team's capacity_default.
    assert (await first.ok("whoami"))["capacity"] == 3

    visitor = await WireClient.open(server.url, "/customer", {})
    started = await visitor.ok("start_conversation", {"name": "Casey"})
    conversation_id = started["conversation"]["id"]
    [offer] = await first.wait("offer")
    assert set(offer) == QUEUE_ENTRY and offer["conversation_id"] == conversation_id
    wants = await visitor.ok("request_human", {"conversation_id": conversation_id})
    assert set(wants) == {"conversation", "queue"} and wants["queue"]["position"] == 1

    claimed = await first.ok("claim", {"conversation_id": conversation_id})
    assert set(claimed) == {"conversation"}
    assert claimed["conversation"]["assigned_agent_id"] == first_in["agent"]["id"]
    [assigned] = await first.wait("assigned")
    assert assigned["reason"] == "claimed" and set(assigned["customer"]) == CUSTOMER
    await second.error("claim", {"conversation_id": conversation_id}, "not_found")
    [withdrawn] = await second.wait("offer_withdrawn")
    assert withdrawn == {"conversation_id": conversation_id, "team_id": team["id"]}
    solved = {"conversation_id": conversation_id}
    await visitor.error("mark_solved", solved, "conflict")  # a person has it

    moved = await first.ok(
        "transfer", {"conversation_id": conversation_id, "to_agent_id": second_in["agent"]["id"]}
    )
    assert moved["conversation"]["assigned_agent_id"] == second_in["agent"]["id"]
    [left] = await first.wait("unassigned")
    assert left == {"conversation_id": conversation_id, "reason": "transferred"}
    [taken] = await second.wait("assigned")
    assert (taken["reason"], taken["customer"]) == ("transferred", None)
    assert taken["agent"] == {"id": second_in["agent"]["id"], "display_name": "Robin"}
    for socket in (visitor, first, second):
        await socket.close()
