"""The independent client's walk through the client events' finer rules in docs/protocol.md:
what `start_conversation` saves, which names each namespace knows, and the payload limits."""

from __future__ import annotations

from server.core.models import AgentRole
from tests.e2e.wire_client import WireClient, rest, send, sign_in
from tests.support import Servers, agent_token

CUSTOMER_ONLY = ("session", "identify", "start_conversation", "list_conversations",
                 "request_human", "mark_solved")  # fmt: skip
AGENT_ONLY = ("whoami", "set_presence", "join", "resolve", "reopen", "suggest_reply", "claim",
              "unassign", "transfer", "set_priority", "get_queue")  # fmt: skip


async def test_start_conversation_saves_the_visitors_details(servers: Servers) -> None:
    server = await servers.start()
    visitor = await WireClient.open(server.url, "/customer", {})
    first = await visitor.ok(
        "start_conversation",
        {
            "name": "Casey",
            "attributes": {"plan": "pro", "cart": {"items": 1}},
            "page_url": "https://shop.example/help",
            "referrer": "https://search.example/",
        },
    )
    conversation_id = first["conversation"]["id"]
    assert first["conversation"]["metadata"] == {
        "page_url": "https://shop.example/help",
        "referrer": "https://search.example/",
    }
    # Again: the open conversation; a given email replaces, a null name keeps, attributes merge
    # by top-level key; page_url and referrer belong to a new conversation only.
    again = await visitor.ok(
        "start_conversation",
        {
            "email": "casey@example.com",
            "attributes": {"cart": {"items": 2}, "locale": "de"},
            "page_url": "https://shop.example/other",
        },
    )
    assert again["created"] is False and again["conversation"]["id"] == conversation_id
    assert again["conversation"]["metadata"] == first["conversation"]["metadata"]
    signed_in = await sign_in(server, AgentRole.ADMIN)
    status, _, body = await rest(
        "GET",
        f"{server.url}/api/v1/conversations/{conversation_id}/customer",
        signed_in["token"],
    )
    assert status == 200
    customer = body["data"]["customer"]
    assert (customer["name"], customer["email"]) == ("Casey", "casey@example.com")
    assert customer["attributes"] == {"plan": "pro", "cart": {"items": 2}, "locale": "de"}
    assert (customer["identity_verified"], customer["external_id"]) == (False, None)

    # The name given on this socket's start_conversation names its typing and its messages.
    staff = await WireClient.open(server.url, "/agent", {"token": signed_in["token"]})
    await staff.ok("join", {"conversation_id": conversation_id})
    await visitor.ok("typing", {"conversation_id": conversation_id, "typing": True})
    [typing] = await staff.wait("typing")
    assert (typing["sender_kind"], typing["sender_name"]) == ("customer", "Casey")
    await visitor.ok("send_message", send(conversation_id, "c1", "hello"))
    [message] = await staff.wait("message")
    assert message["sender_name"] == "Casey"
    await visitor.close()
    await staff.close()


async def test_each_namespace_knows_its_own_events_and_checks_payloads(servers: Servers) -> None:
    server = await servers.start()
    visitor = await WireClient.open(server.url, "/customer", {})
    conversation_id = (await visitor.ok("start_conversation"))["conversation"]["id"]
    staff = await WireClient.open(
        server.url, "/agent", {"token": (await sign_in(server, AgentRole.ADMIN))["token"]}
    )
    for socket, names in ((visitor, AGENT_ONLY), (staff, CUSTOMER_ONLY)):
        for name in names:
            error = await socket.error(name, {}, "bad_request")
            assert error["message"] == f"unknown event '{name}'"
        for reserved in ("connect", "disconnect", "connect_error"):
            await socket.error(reserved, {}, "bad_request")

    for payload in (
        {"email": "no at sign"},
        {"email": "a@b" + "c" * 320},
        {"name": "x" * 201},
        {"page_url": "x" * 2001},
        {"team": "x" * 64},
        {"after_seq": -1},
        {"new": 1},
        {"priority": "asap"},
    ):
        await visitor.error("start_conversation", payload, "bad_request")
    for payload in (
        {"conversation_id": conversation_id, "client_id": ""},
        {"conversation_id": conversation_id, "client_id": "x" * 101, "body": "b"},
        {"conversation_id": "not-a-uuid", "client_id": "a", "body": "b"},
        {"conversation_id": conversation_id, "client_id": "a", "body": "b", "visibility": "x"},
        {"conversation_id": conversation_id, "client_id": "a", "attachment_ids": ["x"]},
    ):
        await visitor.error("send_message", payload, "bad_request")
    error = await visitor.error(
        "mark_read", {"conversation_id": conversation_id, "seq": 2**63}, "bad_request"
    )
    assert error["message"].endswith("- at `$.seq`")
    # The largest integer is accepted, and capped at the conversation's last seq.
    top = await visitor.ok("mark_read", {"conversation_id": conversation_id, "seq": 2**63 - 1})
    assert top == {"delivered_seq": 0, "read_seq": 0}
    await staff.error("set_presence", {"status": "busy"}, "bad_request")
    await staff.error("typing", {"conversation_id": conversation_id, "typing": 1}, "bad_request")
    await staff.error("join", {"conversation_id": conversation_id, "extra": True}, "unknown_field")
    # Every one of those failures left both connections usable.
    assert "customer_id" in await visitor.ok("session")
    assert (await staff.ok("whoami"))["role"] == "admin"
    await visitor.close()
    await staff.close()


async def test_routing_requests_of_an_agent_who_is_not_the_assignee(servers: Servers) -> None:
    server = await servers.start()
    first, second = await sign_in(server), await sign_in(server)
    robin = await WireClient.open(server.url, "/agent", {"token": first["token"]})
    kim = await WireClient.open(server.url, "/agent", {"token": second["token"]})
    for staff in (robin, kim):
        await staff.ok("set_presence", {"status": "away"})
    visitor = await WireClient.open(server.url, "/customer", {})
    conversation_id = (await visitor.ok("start_conversation"))["conversation"]["id"]
    # Kim joins while it waits (a participant from then on); Robin comes back and gets it.
    await kim.ok("join", {"conversation_id": conversation_id})
    await robin.ok("set_presence", {"status": "online"})
    [assigned] = await robin.wait("assigned")
    assert assigned["conversation"]["id"] == conversation_id
    target = {"conversation_id": conversation_id}
    for event, payload in (
        ("unassign", target),
        ("set_priority", {**target, "priority": "low"}),
        ("transfer", {**target, "to_agent_id": second["agent"]["id"]}),
    ):
        await kim.error(event, payload, "forbidden")
    # Kim still sees it, as a participant.
    assert (await kim.ok("history", target))["messages"] == []
    # The assignee may hand it back to the line.
    back = await robin.ok("unassign", target)
    assert back["conversation"]["assigned_agent_id"] is None
    [left] = await robin.wait("unassigned")
    assert set(left) == {"conversation_id", "reason"} and left["conversation_id"] == conversation_id
    for socket in (robin, kim, visitor):
        await socket.close()


async def test_reopening_as_the_visitor_sees_it(servers: Servers) -> None:
    server = await servers.start()
    visitor = await WireClient.open(server.url, "/customer", {})
    conversation_id = (await visitor.ok("start_conversation"))["conversation"]["id"]
    await visitor.ok("send_message", send(conversation_id, "c1", "one"))
    staff = await WireClient.open(
        server.url, "/agent", {"token": (await sign_in(server, AgentRole.ADMIN))["token"]}
    )
    await staff.wait("assigned")
    await staff.ok("resolve", {"conversation_id": conversation_id})

    async def updates_until(reason: str, count: int) -> list[dict[str, object]]:
        while [u["reason"] for u in visitor.events["conversation_updated"]].count(reason) < count:
            await visitor.wait(
                "conversation_updated", len(visitor.events["conversation_updated"]) + 1
            )
        return visitor.events["conversation_updated"]

    await updates_until("resolved", 1)
    seen = len(visitor.events["conversation_updated"])
    # A customer's message reopens it: one "reopened", whose snapshot counts that message and
    # shows the conversation back in line.
    posted = await visitor.ok("send_message", send(conversation_id, "c2", "two"))
    reopened = (await updates_until("reopened", 1))[seen]
    assert reopened["reason"] == "reopened"
    snapshot = reopened["conversation"]
    assert (snapshot["status"], snapshot["last_seq"]) == ("open", posted["seq"])
    assert snapshot["waiting"] is True and snapshot["queued_at"] is not None
    # An agent's reopen sends "reopened" twice: the status, then the place in line.
    await updates_until("assigned", 2)
    await staff.ok("resolve", {"conversation_id": conversation_id})
    await updates_until("resolved", 2)
    seen = len(visitor.events["conversation_updated"])
    await staff.ok("reopen", {"conversation_id": conversation_id})
    first, second = (await updates_until("reopened", 3))[seen : seen + 2]
    assert (first["reason"], second["reason"]) == ("reopened", "reopened")
    assert first["conversation"]["status"] == second["conversation"]["status"] == "open"
    assert (first["conversation"]["waiting"], second["conversation"]["waiting"]) == (False, True)
    await visitor.close()
    await staff.close()


async def test_who_gets_conversation_updated(servers: Servers) -> None:
    server = await servers.start()
    tokens = {
        "no team": (await agent_token(server, name="Noa", teams=()))[1],
        "support": (await agent_token(server, name="Sam"))[1],
        "admin": (await agent_token(server, name="Ada", role=AgentRole.ADMIN, teams=()))[1],
    }
    staff = {
        name: await WireClient.open(server.url, "/agent", {"token": token})
        for name, token in tokens.items()
    }
    await staff["support"].ok("set_presence", {"status": "away"})  # it waits, unassigned
    visitor = await WireClient.open(server.url, "/customer", {})
    conversation_id = (await visitor.ok("start_conversation"))["conversation"]["id"]
    await staff["admin"].ok("resolve", {"conversation_id": conversation_id})
    # A second conversation's "created" reaches every agent: all that came before has arrived.
    second = await WireClient.open(server.url, "/customer", {})
    await second.ok("start_conversation")
    for socket in staff.values():
        while [u["reason"] for u in socket.events["conversation_updated"]].count("created") < 2:
            await socket.wait(
                "conversation_updated", len(socket.events["conversation_updated"]) + 1
            )

    def reasons(name: str) -> list[str]:
        return [
            u["reason"]
            for u in staff[name].events["conversation_updated"]
            if u["conversation"]["id"] == conversation_id
        ]

    # "created" (no team yet) goes to every agent; then the team's agents and the admins.
    assert reasons("no team") == ["created"]
    assert reasons("support") == ["created", "queued", "resolved"]
    assert reasons("admin") == ["created", "queued", "resolved"]
    for socket in (*staff.values(), visitor, second):
        await socket.close()


async def test_settings_that_affect_clients_reach_them(servers: Servers) -> None:
    server = await servers.start(
        max_message_length=10, typing_timeout_seconds=4.0, attachment_content_types=("image/png",)
    )
    status, _, body = await rest("GET", f"{server.url}/api/v1/widget/settings")
    assert status == 200
    widget = body["data"]
    assert (widget["max_message_length"], widget["typing_timeout_seconds"]) == (10, 4.0)
    assert widget["attachments"]["types"] == ["image/png"]
    visitor = await WireClient.open(server.url, "/customer", {})
    conversation_id = (await visitor.ok("start_conversation"))["conversation"]["id"]
    too_long = await visitor.error(
        "send_message", send(conversation_id, "c1", "x" * 11), "too_large"
    )
    assert too_long["details"] == {"max_length": 10}
    await visitor.ok("send_message", send(conversation_id, "c2", "x" * 10))
    staff = await WireClient.open(
        server.url, "/agent", {"token": (await sign_in(server, AgentRole.ADMIN))["token"]}
    )
    await staff.ok("join", {"conversation_id": conversation_id})
    await visitor.ok("typing", {"conversation_id": conversation_id, "typing": True})
    [typing] = await staff.wait("typing")
    assert typing["expires_in"] == 4.0
    await visitor.close()
    await staff.close()


async def test_note_typing_is_not_deduplicated_and_marks_need_no_following(
    servers: Servers,
) -> None:
    server = await servers.start()
    visitor = await WireClient.open(server.url, "/customer", {})
    token = (await visitor.ok("session"))["visitor_token"]
    conversation_id = (await visitor.ok("start_conversation"))["conversation"]["id"]
    writer, reader = [
        await WireClient.open(
            server.url, "/agent", {"token": (await sign_in(server, AgentRole.ADMIN))["token"]}
        )
        for _ in range(2)
    ]
    for staff in (writer, reader):
        await staff.ok("join", {"conversation_id": conversation_id})
    note = {"conversation_id": conversation_id, "typing": True, "internal": True}
    await writer.ok("typing", note)
    await writer.ok("typing", note)
    # Each private-note typing call is broadcast as is, to staff only.
    assert [t["internal"] for t in await reader.wait("typing", 2)] == [True, True]
    await writer.ok("send_message", send(conversation_id, "a1", "Hello"))
    [message] = await visitor.wait("message")
    assert visitor.events["typing"] == []
    # Receipts from a socket that does not follow the conversation.
    tab = await WireClient.open(server.url, "/customer", {"token": token})
    marked = await tab.ok("mark_read", {"conversation_id": conversation_id, "seq": message["seq"]})
    assert marked == {"delivered_seq": message["seq"], "read_seq": message["seq"]}
    [receipt] = await writer.wait("receipt")
    assert (receipt["reader_kind"], receipt["read_seq"]) == ("customer", message["seq"])
    # The reader's following socket gets it; the tab, following nothing, does not.
    await visitor.wait("receipt")
    assert "customer_id" in await tab.ok("session")
    assert tab.events["receipt"] == []
    for socket in (visitor, writer, reader, tab):
        await socket.close()
