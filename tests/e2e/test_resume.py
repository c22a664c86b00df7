"""No message is lost or duplicated when a customer's connection drops and comes back."""

from __future__ import annotations

import asyncio

from tests.support import RunningServer, agent, agent_token, customer


async def test_reconnect_replays_every_missed_message_once_in_order(server: RunningServer) -> None:
    cust = await customer(server.url)
    token = (await cust.ok("session"))["visitor_token"]
    conversation_id = (await cust.ok("start_conversation", {"name": "Casey"}))["conversation"]["id"]
    _, agent_tok = await agent_token(server)
    staff = await agent(server.url, agent_tok)
    await staff.ok("join", {"conversation_id": conversation_id})

    for i in range(3):
        await staff.ok(
            "send_message",
            {"conversation_id": conversation_id, "client_id": f"a{i}", "body": f"m{i}"},
        )
    seen = await cust.log.wait_for("message", count=3)
    last_seq = max(m["seq"] for m in seen)
    await cust.close()

    # The agent keeps writing while the customer is away, and while they come back.
    some_sent = asyncio.Event()

    async def keep_sending() -> None:
        for i in range(3, 40):
            await staff.ok(
                "send_message",
                {"conversation_id": conversation_id, "client_id": f"a{i}", "body": f"m{i}"},
            )
            if i == 8:
                some_sent.set()  # the customer comes back while the agent goes on writing

    sender = asyncio.create_task(keep_sending())
    await some_sent.wait()
    back = await customer(server.url, token)
    await back.ok("resume", {"conversation_id": conversation_id, "after_seq": last_seq})
    await sender
    # One more message orders after every earlier one: any duplicate would be in the log by now.
    await staff.ok(
        "send_message", {"conversation_id": conversation_id, "client_id": "end", "body": "end"}
    )
    await back.log.wait_for("message", lambda m: m["client_id"] == "end")
    received = back.log.of("message")
    assert [m["seq"] for m in received] == list(range(4, 42))
    assert [m["body"] for m in received] == [f"m{i}" for i in range(3, 40)] + ["end"]
    await back.close()
    await staff.close()


async def test_resume_replay_is_complete_before_the_ack(server: RunningServer) -> None:
    cust = await customer(server.url)
    token = (await cust.ok("session"))["visitor_token"]
    conversation_id = (await cust.ok("start_conversation", {}))["conversation"]["id"]
    for i in range(5):
        await cust.ok(
            "send_message",
            {"conversation_id": conversation_id, "client_id": f"c{i}", "body": f"c{i}"},
        )
    await cust.close()
    again = await customer(server.url, token)
    ack = await again.ok("resume", {"conversation_id": conversation_id, "after_seq": 2})
    assert ack["delivered_up_to"] == 5
    assert [m["seq"] for m in again.log.of("message")] == [3, 4, 5]
    await again.close()


async def test_start_conversation_returns_the_open_one_with_replay(server: RunningServer) -> None:
    cust = await customer(server.url)
    token = (await cust.ok("session"))["visitor_token"]
    first = await cust.ok("start_conversation", {})
    assert first["created"] is True
    conversation_id = first["conversation"]["id"]
    await cust.ok(
        "send_message", {"conversation_id": conversation_id, "client_id": "x", "body": "hello"}
    )
    await cust.close()
    tab2 = await customer(server.url, token)
    second = await tab2.ok("start_conversation", {"after_seq": 0})
    assert second["created"] is False
    assert second["conversation"]["id"] == conversation_id
    assert [m["body"] for m in tab2.log.of("message")] == ["hello"]
    await tab2.close()


async def test_a_second_tab_sees_the_first_tabs_messages(server: RunningServer) -> None:
    tab1 = await customer(server.url)
    token = (await tab1.ok("session"))["visitor_token"]
    conversation_id = (await tab1.ok("start_conversation", {}))["conversation"]["id"]
    tab2 = await customer(server.url, token)
    await tab2.ok("resume", {"conversation_id": conversation_id, "after_seq": 0})
    await tab1.ok(
        "send_message",
        {"conversation_id": conversation_id, "client_id": "t1", "body": "from tab 1"},
    )
    got = await tab2.log.wait_for("message")
    assert got[0]["body"] == "from tab 1" and got[0]["client_id"] == "t1"
    await tab1.close()
    await tab2.close()
