"""Hand-overs from the assistant to people end to end: an agent coming online, the customer
asking, an agent claiming, and an agent assigned while the model is still writing."""

from __future__ import annotations

import asyncio
import uuid

import aiohttp
import pytest

from server.config import Settings
from tests.e2e.assistant_support import (
    PASSWORD_QUESTION,
    an_answer,
    ask,
    assistant_messages,
    assistant_options,
    assistant_server,
    events_of,
    fetch,
    from_assistant,
    settled,
    state,
    timeline,
)
from tests.e2e.routing_support import (
    assignee,
    eventually,
    online_agent,
    set_team_mode,
    waiting_customer,
)
from tests.fake_openai import FakeOpenAI, Reply
from tests.support import RunningServer

# The first sentence is released after about 1.5 s; the rest would take 4 s more.
SLOW_ANSWER = ("Click Forgot password on the sign-in page [1]. Then enter the email address you "
               "signed up with, open the message we send you and follow the link inside it within "
               "one hour [1].")  # fmt: skip


@pytest.fixture
def server_options(help_center: None) -> dict[str, object]:
    return assistant_options()


async def test_an_agent_coming_online_takes_over_with_a_summary(server: RunningServer) -> None:
    cust, conversation_id = await waiting_customer(server, name="Casey")
    await ask(cust, conversation_id, PASSWORD_QUESTION)
    await cust.log.wait_for("message", an_answer, timeout=10)

    agent_id, token, staff = await online_agent(server, "Robin")
    assert await eventually(lambda: assignee(server, conversation_id)) == agent_id
    assigned = (await staff.log.wait_for("assigned"))[0]
    handover = assigned["handover"]
    assert handover["reason"] == "agent_available"
    assert handover["citations"][0]["slug"] == "reset-password"
    assert "Customer asked:" in handover["summary"] and "reset my password" in handover["summary"]

    note = (await cust.log.wait_for("message", lambda m: m["metadata"].get("handover") is True))[0]
    assert (
        note["sender_kind"] == "assistant" and "Robin from our team is taking over" in note["body"]
    )
    await cust.log.wait_for("conversation_updated", lambda e: e["reason"] == "assigned")

    # The agent finds a private brief at the top of what they take over; the customer never does.
    joined = timeline(staff)
    await staff.ok("join", {"conversation_id": conversation_id})
    brief = [d for n, d in joined if n == "message" and d["visibility"] == "internal"]
    assert len(brief) == 1 and brief[0]["sender_kind"] == "system"
    assert brief[0]["body"].startswith("Handed over by the assistant: an agent became available.")
    assert not [m for m in cust.log.of("message") if m["visibility"] == "internal"]

    # The console pins the latest brief above the thread, however far back it scrolled.
    async with aiohttp.ClientSession(
        base_url=server.url, headers={"Authorization": f"Bearer {token}"}
    ) as http:
        async with http.get(f"/api/v1/conversations/{conversation_id}/handover") as response:
            pinned = (await response.json())["data"]["handover"]
    assert pinned["seq"] == brief[0]["seq"] and pinned["reason"] == "agent_available"
    assert pinned["reason_text"] == "an agent became available"
    assert pinned["summary"] == handover["summary"] and pinned["citations"] == handover["citations"]

    # From now on the assistant stays silent.
    await ask(cust, conversation_id, "And how do I turn on two-factor authentication?")
    await settled(server)
    answers = [
        m for m in await assistant_messages(server, conversation_id) if "stream_id" in m["metadata"]
    ]
    assert len(answers) == 1
    row = await state(server, conversation_id)
    assert (row["owner"], row["handoff_reason"]) == ("human", None)
    assert ("handed_over", "agent_available") in await events_of(server, conversation_id)
    await cust.close()
    await staff.close()


async def test_no_assistant_message_after_an_assignment_mid_stream(
    settings: Settings, fake_openai: FakeOpenAI
) -> None:
    running = await assistant_server(
        settings, openai_api_key="test-key", openai_base_url=fake_openai.base_url,
        assistant_timeout_seconds=3.0, assistant_retries=0,
    )  # fmt: skip
    try:
        fake_openai.script = [
            Reply(SLOW_ANSWER, piece=8, piece_delay=0.25),  # about 5.5 s for the whole answer
            Reply("The customer wants to reset their password; the help article was cited."),
        ]
        cust, conversation_id = await waiting_customer(running)
        received = timeline(cust)
        await ask(cust, conversation_id, PASSWORD_QUESTION)
        first = await cust.log.wait_for("assistant_delta", timeout=10)
        stream_id = first[0]["stream_id"]

        agent_id, _, staff = await online_agent(running, "Robin")
        assert await eventually(lambda: assignee(running, conversation_id)) == agent_id
        await cust.log.wait_for("message", lambda m: m["metadata"].get("handover") is True)
        handed = len(received)
        await asyncio.sleep(len(SLOW_ANSWER) / 8 * 0.25 + 0.5)  # past when the model would finish

        # Nothing of the stopped answer was stored, and nothing of it arrived after the hand-over.
        stored = await assistant_messages(running, conversation_id)
        assert not [m for m in stored if m["metadata"].get("stream_id") == stream_id]
        later = [(n, d) for n, d in received[handed:] if n in ("assistant_delta", "message")]
        assert not [d for n, d in later if n == "assistant_delta" or from_assistant(d)]
        # The clients were told to drop what they showed of it, once.
        ended = [d for n, d in received if n == "assistant_stream_ended"]
        assert ended == [
            {"conversation_id": conversation_id, "stream_id": stream_id, "reason": "stopped"}
        ]
        assert (await state(running, conversation_id))["assistant_run"] is None
        typing = [d for n, d in received if n == "typing" and d["sender_kind"] == "assistant"]
        assert typing[-1]["typing"] is False

        # With a model configured, the agent's brief is written by it, after the commit.
        brief = await staff.log.wait_for("assigned")
        assert brief[0]["handover"]["reason"] == "agent_available"
        summaries = await eventually(lambda: _internal_notes(running, conversation_id))
        assert "reset their password" in summaries[0]["body"]
        assert summaries[0]["metadata"]["handover"]["mode"] == "generated"
        await cust.close()
        await staff.close()
    finally:
        await running.stop()


async def _internal_notes(server: RunningServer, conversation_id: str):
    return await fetch(
        server,
        "SELECT body, metadata FROM messages WHERE conversation_id = $1 AND visibility = 'internal'",
        uuid.UUID(conversation_id),
    )


async def test_asking_for_a_person_with_one_online_in_first_mode(server: RunningServer) -> None:
    await set_team_mode(server, "support", assistant_mode="first")
    agent_id, _, staff = await online_agent(server, "Robin")
    cust, conversation_id = await waiting_customer(server)
    await ask(cust, conversation_id, PASSWORD_QUESTION)
    await cust.log.wait_for("message", an_answer, timeout=10)
    assert await assignee(server, conversation_id) is None

    ack = await cust.ok("request_human", {"conversation_id": conversation_id})
    assert ack["queue"] is None and ack["conversation"]["assigned_agent_id"] == str(agent_id)
    assigned = (await staff.log.wait_for("assigned"))[0]
    assert assigned["handover"]["reason"] == "customer_request"
    await cust.log.wait_for("message", lambda m: m["metadata"].get("handover") is True)
    # The customer's own message echoes after anything said before it.
    await cust.ok(
        "send_message", {"conversation_id": conversation_id, "client_id": "later", "body": "ok"}
    )
    await cust.log.wait_for("message", lambda m: m["client_id"] == "later")
    # Taken at once: no "you're number N in line" after the hand-over.
    assert not [m for m in cust.log.of("message") if "queue" in m["metadata"]]
    await cust.close()
    await staff.close()


async def test_an_agent_claims_a_conversation_from_the_assistant(server: RunningServer) -> None:
    await set_team_mode(server, "support", assistant_mode="first", mode="manual")
    agent_id, _, staff = await online_agent(server, "Robin")
    cust, conversation_id = await waiting_customer(server)
    await cust.log.wait_for("message", from_assistant)
    claimed = await staff.ok("claim", {"conversation_id": conversation_id})
    assert claimed["conversation"]["assigned_agent_id"] == str(agent_id)
    assert claimed["conversation"]["owner"] == "human"
    assigned = (await staff.log.wait_for("assigned"))[0]
    assert assigned["handover"]["reason"] == "agent_took_over"
    assert ("stepped_back", "agent_took_over") in await events_of(server, conversation_id)
    await cust.close()
    await staff.close()


async def test_an_agent_replying_takes_the_conversation(server: RunningServer) -> None:
    await set_team_mode(server, "support", assistant_mode="first")
    agent_id, _, staff = await online_agent(server, "Robin")
    cust, conversation_id = await waiting_customer(server)
    await staff.ok("join", {"conversation_id": conversation_id})
    await staff.ok(
        "send_message",
        {"conversation_id": conversation_id, "client_id": "hi", "body": "Hi, Robin here."},
    )
    assert await eventually(lambda: assignee(server, conversation_id)) == agent_id
    assert (await state(server, conversation_id))["owner"] == "human"
    await cust.close()
    await staff.close()
