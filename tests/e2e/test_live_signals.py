"""Typing indicators, read receipts and presence between real sockets."""

from __future__ import annotations

from tests.support import RunningServer, agent, agent_token, customer


async def _conversation(server: RunningServer):
    cust = await customer(server.url)
    started = await cust.ok("start_conversation", {"name": "Casey"})
    conversation_id = started["conversation"]["id"]
    agent_id, token = await agent_token(server, name="Robin")
    staff = await agent(server.url, token)
    await staff.ok("join", {"conversation_id": conversation_id})
    return cust, staff, conversation_id, agent_id


async def test_typing_reaches_the_other_side_and_expires_by_itself(server: RunningServer) -> None:
    cust, staff, conversation_id, _ = await _conversation(server)
    await cust.ok("typing", {"conversation_id": conversation_id, "typing": True})
    started = await staff.log.wait_for("typing", lambda e: e["typing"])
    assert started[0]["sender_kind"] == "customer"
    assert started[0]["sender_name"] == "Casey"
    # No refresh: the server stops it after typing_timeout_seconds (1 s in tests).
    await staff.log.wait_for("typing", lambda e: not e["typing"], timeout=4)
    assert cust.log.of("typing") == []  # no echo to the typist

    await staff.ok("typing", {"conversation_id": conversation_id, "typing": True})
    await cust.log.wait_for("typing", lambda e: e["typing"] and e["sender_kind"] == "agent")
    await staff.ok("typing", {"conversation_id": conversation_id, "typing": False})
    await cust.log.wait_for("typing", lambda e: not e["typing"])

    # Typing a private note is never shown to the customer.
    await staff.ok("typing", {"conversation_id": conversation_id, "typing": True, "internal": True})
    # A later signal to the customer orders after the note's typing, had it been sent.
    await staff.ok(
        "send_message",
        {"conversation_id": conversation_id, "client_id": "after-note", "body": "One moment"},
    )
    await cust.log.wait_for("message", lambda m: m["client_id"] == "after-note")
    assert len([e for e in cust.log.of("typing") if e["typing"]]) == 1
    await cust.close()
    await staff.close()


async def test_sending_a_message_ends_typing(server: RunningServer) -> None:
    cust, staff, conversation_id, _ = await _conversation(server)
    await cust.ok("typing", {"conversation_id": conversation_id, "typing": True})
    await staff.log.wait_for("typing", lambda e: e["typing"])
    await cust.ok(
        "send_message", {"conversation_id": conversation_id, "client_id": "m", "body": "hi"}
    )
    await staff.log.wait_for("typing", lambda e: not e["typing"], timeout=0.8)
    await cust.close()
    await staff.close()


async def test_read_receipts_reach_the_sender(server: RunningServer) -> None:
    cust, staff, conversation_id, agent_id = await _conversation(server)
    sent = await staff.ok(
        "send_message", {"conversation_id": conversation_id, "client_id": "a", "body": "Hi"}
    )
    await cust.log.wait_for("message")
    delivered = await cust.ok(
        "mark_delivered", {"conversation_id": conversation_id, "seq": sent["seq"]}
    )
    assert delivered == {"delivered_seq": 1, "read_seq": 0}
    receipt = await staff.log.wait_for("receipt", lambda e: e["reader_kind"] == "customer")
    assert receipt[0]["delivered_seq"] == 1 and receipt[0]["read_seq"] == 0
    read = await cust.ok("mark_read", {"conversation_id": conversation_id, "seq": sent["seq"]})
    assert read == {"delivered_seq": 1, "read_seq": 1}
    await staff.log.wait_for(
        "receipt", lambda e: e["reader_kind"] == "customer" and e["read_seq"] == 1
    )
    # Marking far ahead is capped at what exists; marking again is a no-op with no new event.
    capped = await cust.ok("mark_read", {"conversation_id": conversation_id, "seq": 999})
    assert capped["read_seq"] == 1

    # And the other way round: the customer sees the agent read their message.
    mine = await cust.ok(
        "send_message", {"conversation_id": conversation_id, "client_id": "c", "body": "Thanks"}
    )
    await staff.ok("mark_read", {"conversation_id": conversation_id, "seq": mine["seq"]})
    seen = await cust.log.wait_for(
        "receipt", lambda e: e["reader_kind"] == "agent" and e["read_seq"] == 2
    )
    assert seen[0]["reader_id"] == str(agent_id)
    # The agent's own receipt reached them after any the capped no-op could have caused.
    await staff.log.wait_for(
        "receipt", lambda e: e["reader_kind"] == "agent" and e["read_seq"] == 2
    )
    assert len([e for e in staff.log.of("receipt") if e["reader_kind"] == "customer"]) == 2
    await cust.close()
    await staff.close()


async def test_presence_online_away_offline_and_two_tabs(server: RunningServer) -> None:
    _watcher_id, watcher_token = await agent_token(server, name="Watcher")
    watcher = await agent(server.url, watcher_token)
    agent_id, token = await agent_token(server, name="Robin")

    def of_robin(status: str):
        return lambda e: e["agent_id"] == str(agent_id) and e["status"] == status

    tab1 = await agent(server.url, token)
    await watcher.log.wait_for("presence", of_robin("online"))
    tab2 = await agent(server.url, token)
    await tab2.ok("set_presence", {"status": "away"})
    await watcher.log.wait_for("presence", of_robin("away"))
    me = await tab1.ok("whoami")
    assert me["presence"]["status"] == "away"
    await tab2.ok("set_presence", {"status": "online"})
    await watcher.log.wait_for("presence", of_robin("online"), count=2)

    await tab1.close()  # one tab left: still online, and nothing is broadcast
    await tab2.close()
    await watcher.log.wait_for("presence", of_robin("offline"))
    # The watcher's own change is broadcast after Robin's: nothing else came for Robin.
    await watcher.ok("set_presence", {"status": "away"})
    await watcher.log.wait_for(
        "presence", lambda e: e["agent_id"] != str(agent_id) and e["status"] == "away"
    )
    robin = [e["status"] for e in watcher.log.of("presence") if e["agent_id"] == str(agent_id)]
    assert robin == ["online", "away", "online", "offline"]
    await watcher.close()
