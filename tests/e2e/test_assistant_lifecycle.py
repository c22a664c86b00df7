"""The assistant across a conversation's life: "that solved it", reopening without loops, its
turn limit, drafts for agents, several server processes, and answers whose process died."""

from __future__ import annotations

import uuid

import aiohttp
import pytest

from server.actions import assistant_owner
from server.api.keys import SERVICES
from server.config import Settings
from server.core.models import AgentRole
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
)
from tests.e2e.routing_support import eventually, waiting_customer
from tests.support import RunningServer, agent, agent_token, customer, start_server


@pytest.fixture
def server_options(help_center: None) -> dict[str, object]:
    return assistant_options(assistant_max_turns=2)


async def _answers(server: RunningServer, conversation_id: str) -> list:
    return [
        m for m in await assistant_messages(server, conversation_id) if "stream_id" in m["metadata"]
    ]


async def test_that_solved_it_resolves_and_is_recorded(server: RunningServer) -> None:
    cust, conversation_id = await waiting_customer(server)
    await ask(cust, conversation_id, PASSWORD_QUESTION)
    await cust.log.wait_for("message", an_answer, timeout=10)
    await ask(cust, conversation_id, "That solved it, thanks!")
    resolved = await cust.log.wait_for(
        "conversation_updated", lambda e: e["reason"] == "resolved", timeout=5
    )
    assert resolved[0]["conversation"]["status"] == "resolved"
    closing = await cust.log.wait_for(
        "message", lambda m: from_assistant(m) and m["body"].startswith("Glad")
    )
    assert closing[0]["seq"] == 5
    row = await state(server, conversation_id)
    assert (row["status"], row["waiting"]) == ("resolved", False)
    assert ("resolved", "message") in await events_of(server, conversation_id)

    # The event does the same; it is idempotent, and refused once a person has the conversation.
    other, second = await waiting_customer(server)
    ack = await other.ok("mark_solved", {"conversation_id": second})
    assert ack["conversation"]["status"] == "resolved"
    assert (await other.ok("mark_solved", {"conversation_id": second}))["conversation"][
        "status"
    ] == "resolved"
    assert ("resolved", "event") in await events_of(server, second)
    _, token = await agent_token(server, role=AgentRole.ADMIN)
    admin = await agent(server.url, token)
    queues = await admin.ok("get_queue", {})
    assert all(
        e["conversation_id"] not in (conversation_id, second)
        for q in queues["queues"]
        for e in q["entries"]
    )
    await admin.close()
    await cust.close()
    await other.close()


async def test_a_reopened_conversation_does_not_loop(server: RunningServer) -> None:
    cust, conversation_id = await waiting_customer(server)
    for round_ in range(2):  # the turn limit is 2
        await ask(cust, conversation_id, PASSWORD_QUESTION)
        await eventually(lambda n=round_ + 1: _has_answers(server, conversation_id, n), timeout=10)
        await cust.ok("mark_solved", {"conversation_id": conversation_id})
    assert (await state(server, conversation_id))["status"] == "resolved"

    # Reopened a third time: no turns left, so it waits for a person instead of looping.
    await ask(cust, conversation_id, "It happened again, I can't sign in.")
    place = await cust.log.wait_for(
        "queue", lambda e: e["conversation_id"] == conversation_id, timeout=5
    )
    assert place[-1]["position"] == 1
    await settled(server)  # whatever the assistant started is done: it did not answer again
    assert len(await _answers(server, conversation_id)) == 2
    row = await state(server, conversation_id)
    assert (row["status"], row["owner"], row["waiting"], row["assistant_turns"]) == (
        "open",
        "queue",
        True,
        2,
    )
    await cust.close()


async def _has_answers(server: RunningServer, conversation_id: str, count: int) -> bool:
    return len(await _answers(server, conversation_id)) >= count


async def test_the_turn_limit_hands_over_while_the_assistant_answers(server: RunningServer) -> None:
    cust, conversation_id = await waiting_customer(server)
    await ask(cust, conversation_id, PASSWORD_QUESTION)
    await eventually(lambda: _has_answers(server, conversation_id, 1), timeout=10)
    await ask(cust, conversation_id, "How do I turn on two-factor authentication?")
    await eventually(lambda: _has_answers(server, conversation_id, 2), timeout=10)
    await ask(cust, conversation_id, "And how long does a refund take?")
    limit = await cust.log.wait_for(
        "message", lambda m: m["body"].startswith("I've answered as much"), timeout=5
    )
    assert "number 1 in line" in limit[0]["body"]
    row = await state(server, conversation_id)
    assert (row["owner"], row["handoff_reason"]) == ("queue", "turn_limit")
    await cust.close()


async def test_agents_get_a_draft_reply_that_is_never_posted(server: RunningServer) -> None:
    cust, conversation_id = await waiting_customer(server)
    await ask(cust, conversation_id, "My refund has not arrived yet, how long does it take?")
    await cust.log.wait_for("message", an_answer, timeout=10)
    _, token = await agent_token(server, role=AgentRole.ADMIN, teams=())
    admin = await agent(server.url, token)
    before = await fetch(server, "SELECT count(*) AS n FROM messages")

    ack = await admin.ok("suggest_reply", {"conversation_id": conversation_id})
    draft = (await admin.log.wait_for("reply_suggestion", timeout=10))[0]
    assert draft["request_id"] == ack["request_id"] and draft["conversation_id"] == conversation_id
    assert draft["found"] is True and draft["mode"] == "extractive" and draft["error"] is None
    assert draft["citations"][0]["slug"] == "refund-policy" and "refund" in draft["text"].lower()
    await settled(server)  # the draft is done, and it was never posted
    assert await fetch(server, "SELECT count(*) AS n FROM messages") == before
    assert not [m for m in cust.log.of("message") if m["body"] == draft["text"]]
    assert ("suggested", "extractive") in await events_of(server, conversation_id)

    # Only for conversations the agent may see.
    _, outsider_token = await agent_token(server, teams=("nobody",))
    outsider = await agent(server.url, outsider_token)
    refused = await outsider.call("suggest_reply", {"conversation_id": conversation_id})
    assert refused["error"]["code"] == "not_found"
    for c in (cust, admin, outsider):
        await c.close()


async def test_each_message_is_answered_once_across_two_processes(settings: Settings) -> None:
    first = await assistant_server(settings)
    second = await start_server(first.settings.with_overrides(port=0))
    try:
        cust, conversation_id = await waiting_customer(first)
        token = (await cust.ok("session"))["visitor_token"]
        await ask(cust, conversation_id, PASSWORD_QUESTION)
        await eventually(lambda: _has_answers(first, conversation_id, 1), timeout=10)
        # The next question arrives through the other process (REST); it answers, and the
        # customer's socket on the first process gets the stream through Redis.
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as http:
            async with http.post(
                f"{second.url}/api/v1/conversations/{conversation_id}/messages",
                json={
                    "client_id": "over-rest",
                    "body": "How do I turn on two-factor authentication?",
                },
            ) as response:
                assert response.status == 201
        await eventually(lambda: _has_answers(first, conversation_id, 2), timeout=10)
        await settled(first)
        await settled(second)
        answers = await _answers(first, conversation_id)
        assert (
            len(answers) == 2
            and answers[0]["metadata"]["stream_id"] != answers[1]["metadata"]["stream_id"]
        )
        streams = {d["stream_id"] for d in cust.log.of("assistant_delta")}
        assert streams == {a["metadata"]["stream_id"] for a in answers}
        await cust.close()
    finally:
        await second.stop()
        await first.stop()


async def test_an_answer_whose_process_died_goes_to_a_person(server: RunningServer) -> None:
    cust, conversation_id = await waiting_customer(server)
    await cust.log.wait_for("message", from_assistant)
    # As if the process writing an answer had crashed long ago.
    await fetch(
        server,
        "UPDATE conversations SET assistant_run = $2, assistant_run_at = now() - interval '1 hour' WHERE id = $1",
        uuid.UUID(conversation_id),
        uuid.uuid4(),
    )
    services = server.app[SERVICES]
    assert await assistant_owner.recover_abandoned_runs(services) == 1
    assert await assistant_owner.recover_abandoned_runs(services) == 0
    sorry = await cust.log.wait_for("message", lambda m: m["body"].startswith("Sorry"), timeout=5)
    assert "number 1 in line" in sorry[0]["body"]
    row = await state(server, conversation_id)
    assert (row["owner"], row["assistant_run"], row["handoff_reason"]) == (
        "queue",
        None,
        "assistant_error",
    )
    await cust.close()


async def test_the_session_names_the_assistant(settings: Settings) -> None:
    running = await start_server(
        settings.with_overrides(
            assistant_name="Ada", assistant_avatar_url="https://example.test/ada.png"
        )
    )
    try:
        cust = await customer(running.url)
        assert (await cust.ok("session"))["assistant"] == {
            "name": "Ada",
            "avatar_url": "https://example.test/ada.png",
        }
        await cust.close()
    finally:
        await running.stop()
