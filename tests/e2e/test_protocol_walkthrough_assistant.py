"""The independent client's walk through the AI assistant as docs/protocol.md shows it to
clients: streamed pieces, the final message, streams that end without one, and hand-overs."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from server.core.models import AgentRole
from tests.e2e.assistant_support import PASSWORD_QUESTION, assistant_options, settled
from tests.e2e.wire_client import (
    CUSTOMER,
    TYPING,
    WireClient,
    check_conversation,
    is_uuid,
    rest,
    send,
)
from tests.fake_openai import FakeOpenAI, Reply, decline
from tests.support import RunningServer, Servers, agent_token

DELTA = {"conversation_id", "stream_id", "text", "restart"}
STREAM_ENDED = {"conversation_id", "stream_id", "reason"}
CITATION = {"slug", "title", "url"}
ANSWER_METADATA = {"citations", "handoff", "mode", "stream_id"}
# A first sentence the help center supports, then more text that arrives slowly.
SLOW = (
    "Click Forgot password on the sign-in page [1]. Then enter the email address you signed up "
    "with, open the message we send you and follow the link inside it within one hour [1]."
)


async def until(client: WireClient, event: str, matches: Callable[[Any], bool]) -> list[Any]:
    """Wait for the first `event` that matches; every one of that name received so far."""
    count = 1
    while not any(matches(e) for e in await client.wait(event, count)):
        count = len(client.events[event]) + 1
    return client.events[event]


async def model_server(
    servers: Servers, fake_openai: FakeOpenAI, **overrides: Any
) -> RunningServer:
    return await servers.start(
        **assistant_options(
            openai_api_key="test-key",
            openai_base_url=fake_openai.base_url,
            assistant_retries=0,
            **overrides,
        )
    )


async def observer(server: RunningServer, conversation_id: str) -> WireClient:
    """An admin in no team: sees and follows the conversation, never gets it assigned."""
    _, token = await agent_token(server, role=AgentRole.ADMIN, name="Ada", teams=())
    staff = await WireClient.open(server.url, "/agent", {"token": token})
    await staff.ok("join", {"conversation_id": conversation_id})
    return staff


async def waiting(server: RunningServer) -> tuple[WireClient, dict[str, Any]]:
    visitor = await WireClient.open(server.url, "/customer", {})
    started = await visitor.ok("start_conversation", {"name": "Casey"})
    return visitor, started


async def test_an_answer_streams_in_checked_pieces_and_arrives_once(
    servers: Servers, fake_openai: FakeOpenAI, help_center: None
) -> None:
    server = await model_server(servers, fake_openai)
    answer = "Click **Forgot password?** on the sign-in page [1]. Then follow the email [1]."
    fake_openai.default = Reply(answer, piece=6)
    visitor, started = await waiting(server)
    conversation_id = started["conversation"]["id"]
    assert started["conversation"]["owner"] == "assistant"
    # The greeting is the first message, in the replay before the ack.
    [greeting] = visitor.events["message"]
    assert (greeting["seq"], greeting["sender_kind"], greeting["sender_id"]) == (
        1,
        "assistant",
        None,
    )
    staff = await observer(server, conversation_id)

    await visitor.ok("send_message", send(conversation_id, "q1", PASSWORD_QUESTION))
    messages = await until(visitor, "message", lambda m: "stream_id" in m["metadata"])
    final = messages[-1]
    assert final["sender_kind"] == "assistant" and final["body"] == answer
    assert final["sender_name"] == "Parley Assistant" and final["seq"] == 3
    assert set(final["metadata"]) == ANSWER_METADATA
    assert final["metadata"]["mode"] == "generated" and final["metadata"]["handoff"] is False
    [citation] = final["metadata"]["citations"]
    assert set(citation) == CITATION and citation["slug"] == "reset-password"
    stream_id = final["metadata"]["stream_id"]
    assert is_uuid(stream_id)
    for side in (visitor, staff):
        await until(side, "message", lambda m: m["id"] == final["id"])
        deltas = side.events["assistant_delta"]
        assert all(set(d) == DELTA for d in deltas)
        assert {(d["conversation_id"], d["stream_id"]) for d in deltas} == {
            (conversation_id, stream_id)
        }
        # Whole sentences, appended: together they are the message, which arrives once.
        assert [d["text"] for d in deltas] == [
            "Click **Forgot password?** on the sign-in page [1].",
            " Then follow the email [1].",
        ]
        assert [d["restart"] for d in deltas] == [False, False]
        assert [m["id"] for m in side.events["message"]].count(final["id"]) == 1
        assert side.events["assistant_stream_ended"] == []
    # The assistant typed while it worked, and stopped once the answer was posted.
    await until(visitor, "typing", lambda t: t["typing"] is False)
    typing = [t for t in visitor.events["typing"] if t["sender_kind"] == "assistant"]
    assert all(set(t) == TYPING for t in typing)
    assert typing[0]["typing"] is True and typing[-1]["typing"] is False
    assert {(t["sender_id"], t["sender_name"], t["internal"]) for t in typing} == {
        (None, "Parley Assistant", False)
    }
    # Answers are ordinary messages: history has it with its seq.
    page = await visitor.ok("history", {"conversation_id": conversation_id})
    assert [m["seq"] for m in page["messages"]] == [1, 2, 3]
    assert page["messages"][2] == final
    await visitor.close()
    await staff.close()


async def test_a_stream_the_customer_interrupts_ends_stopped_and_hands_over(
    servers: Servers, fake_openai: FakeOpenAI, help_center: None
) -> None:
    server = await model_server(servers, fake_openai, assistant_timeout_seconds=3.0)
    fake_openai.script = [Reply(SLOW, piece=8, piece_delay=0.25)]
    fake_openai.default = Reply("The customer wants to reset their password.")
    visitor, started = await waiting(server)
    conversation_id = started["conversation"]["id"]
    staff = await observer(server, conversation_id)
    await visitor.ok("send_message", send(conversation_id, "q1", PASSWORD_QUESTION))
    [first] = await visitor.wait("assistant_delta")
    stream_id = first["stream_id"]
    assert first["text"] == "Click Forgot password on the sign-in page [1]."

    asked = await visitor.ok("request_human", {"conversation_id": conversation_id})
    assert asked["conversation"]["owner"] == "queue"
    for side in (visitor, staff):
        [ended] = await side.wait("assistant_stream_ended")
        assert ended == {
            "conversation_id": conversation_id,
            "stream_id": stream_id,
            "reason": "stopped",
        }
    await settled(server)
    # Nothing of the stopped answer was ever posted, and the stream ended once.
    page = await visitor.ok("history", {"conversation_id": conversation_id})
    assert not [m for m in page["messages"] if m["metadata"].get("stream_id") == stream_id]
    assert not [m for m in visitor.events["message"] if m["metadata"].get("stream_id")]
    assert len(visitor.events["assistant_stream_ended"]) == 1
    typing = [t for t in visitor.events["typing"] if t["sender_kind"] == "assistant"]
    assert typing[-1]["typing"] is False
    assert all(d["stream_id"] == stream_id for d in visitor.events["assistant_delta"])

    # An agent comes online and gets it, with the hand-over brief.
    agent_id, token = await agent_token(server, name="Robin")
    robin = await WireClient.open(server.url, "/agent", {"token": token})
    [assigned] = await robin.wait("assigned")
    assert set(assigned) == {"conversation", "reason", "agent", "customer", "handover"}
    assert assigned["reason"] == "assigned"
    assert assigned["agent"] == {"id": str(agent_id), "display_name": "Robin"}
    check_conversation(assigned["conversation"])
    assert assigned["conversation"]["owner"] == "human"
    assert set(assigned["customer"]) == CUSTOMER and assigned["customer"]["name"] == "Casey"
    handover = assigned["handover"]
    assert set(handover) == {"reason", "summary", "citations"}
    assert handover["reason"] == "customer_request"
    lines = handover["summary"].split("\n")
    assert 1 <= len(lines) <= 3 and lines[0] == f"Customer asked: “{PASSWORD_QUESTION}”"
    assert all(set(c) == CITATION for c in handover["citations"])
    # The customer is told a person takes over.
    await until(visitor, "message", lambda m: m["metadata"].get("handover") is True)

    # With a model configured, the brief is its summary, a private note written a moment later.
    url = f"{server.url}/api/v1/conversations/{conversation_id}/handover"
    await robin.ok("join", {"conversation_id": conversation_id})
    notes = await until(robin, "message", lambda m: m["visibility"] == "internal")
    [note] = [m for m in notes if m["visibility"] == "internal"]
    assert (note["sender_kind"], note["sender_id"]) == ("system", None)
    assert note["metadata"]["handover"]["mode"] == "generated"
    # The pinned brief over REST: agents only, exact fields.
    status, _, body = await rest("GET", url, token)
    assert status == 200 and set(body["data"]) == {"handover"}
    pinned = body["data"]["handover"]
    assert set(pinned) == {
        "seq", "created_at", "reason", "reason_text", "summary", "citations", "mode",
    }  # fmt: skip
    assert (pinned["seq"], pinned["created_at"]) == (note["seq"], note["created_at"])
    assert pinned["reason"] == "customer_request" and isinstance(pinned["reason_text"], str)
    assert pinned["mode"] == "generated"
    assert pinned["summary"] == "The customer wants to reset their password."
    assert pinned["citations"] == handover["citations"]
    visitor_token = (await visitor.ok("session"))["visitor_token"]
    status, _, body = await rest("GET", url, visitor_token)
    assert (status, body["error"]["code"]) == (403, "forbidden")
    # The customer never sees the brief.
    assert not [m for m in visitor.events["message"] if m["visibility"] == "internal"]
    for socket in (visitor, staff, robin):
        await socket.close()


async def test_a_stream_past_its_deadline_ends_failed(
    servers: Servers, fake_openai: FakeOpenAI, help_center: None
) -> None:
    server = await model_server(
        servers, fake_openai, assistant_timeout_seconds=2.0, assistant_deadline_seconds=3.5
    )
    # The first sentence is shown within about a second; the whole answer would take eleven.
    fake_openai.default = Reply(f"{SLOW} {SLOW} {SLOW}", piece=47, piece_delay=1.0)
    visitor, started = await waiting(server)
    conversation_id = started["conversation"]["id"]
    await visitor.ok("send_message", send(conversation_id, "q1", PASSWORD_QUESTION))
    [first] = await visitor.wait("assistant_delta")
    [ended] = await visitor.wait("assistant_stream_ended")
    assert ended == {
        "conversation_id": conversation_id,
        "stream_id": first["stream_id"],
        "reason": "failed",
    }
    # The customer is told a person will reply; the conversation waits in line.
    messages = await until(visitor, "message", lambda m: m["seq"] == 3)
    sorry = messages[-1]
    assert sorry["sender_kind"] == "assistant" and "stream_id" not in sorry["metadata"]
    await settled(server)
    resumed = await visitor.ok("resume", {"conversation_id": conversation_id, "after_seq": 3})
    assert resumed["conversation"]["owner"] == "queue" and resumed["queue"] is not None
    assert len(visitor.events["assistant_stream_ended"]) == 1
    assert not [m for m in visitor.events["message"] if m["metadata"].get("stream_id")]
    await visitor.close()


async def test_the_local_model_answers_and_a_brief_without_a_model_is_extractive(
    servers: Servers, help_center: None
) -> None:
    server = await servers.start(**assistant_options())
    visitor, started = await waiting(server)
    conversation_id = started["conversation"]["id"]
    await visitor.ok("send_message", send(conversation_id, "q1", PASSWORD_QUESTION))
    messages = await until(visitor, "message", lambda m: "stream_id" in m["metadata"])
    final = messages[-1]
    assert set(final["metadata"]) == ANSWER_METADATA
    assert final["metadata"]["mode"] == "extractive"
    stream = [
        d
        for d in visitor.events["assistant_delta"]
        if d["stream_id"] == final["metadata"]["stream_id"]
    ]
    assert "".join(d["text"] for d in stream) == final["body"]

    _, token = await agent_token(server, name="Robin")
    url = f"{server.url}/api/v1/conversations/{conversation_id}/handover"
    robin = await WireClient.open(server.url, "/agent", {"token": token})
    [assigned] = await robin.wait("assigned")
    assert assigned["handover"]["reason"] == "agent_available"
    status, _, body = await rest("GET", url, token)
    pinned = body["data"]["handover"]
    assert status == 200 and pinned["mode"] == "extractive"
    assert pinned["summary"] == assigned["handover"]["summary"]
    assert pinned["citations"] == assigned["handover"]["citations"]
    # A stranger's conversation is 404 to the agent; an unknown one too.
    other = str(uuid.uuid4())
    status, _, body = await rest(
        "GET", f"{server.url}/api/v1/conversations/{other}/handover", token
    )
    assert (status, body["error"]["code"]) == (404, "not_found")
    await visitor.close()
    await robin.close()


async def test_a_decline_after_shown_text_restarts_the_bubble_and_yes_takes_the_offer(
    servers: Servers, fake_openai: FakeOpenAI, help_center: None
) -> None:
    server = await model_server(servers, fake_openai)
    shown = "Click Forgot password on the sign-in page [1]."
    fake_openai.script = [Reply(shown + " ", calls=(decline(),), piece=8)]
    visitor, started = await waiting(server)
    conversation_id = started["conversation"]["id"]
    await visitor.ok("send_message", send(conversation_id, "q1", PASSWORD_QUESTION))
    messages = await until(visitor, "message", lambda m: "stream_id" in m["metadata"])
    offer = messages[-1]
    assert offer["metadata"]["handoff"] is True and offer["metadata"]["mode"] == "declined"
    assert offer["metadata"]["citations"] == []
    deltas = visitor.events["assistant_delta"]
    # What was shown is replaced by the offer, which is the message.
    assert [(d["text"], d["restart"]) for d in deltas] == [(shown, False), (offer["body"], True)]
    assert {d["stream_id"] for d in deltas} == {offer["metadata"]["stream_id"]}
    assert visitor.events["assistant_stream_ended"] == []
    # "yes" right after the offer asks for a person: the assistant confirms with the place.
    await visitor.ok("send_message", send(conversation_id, "q2", "yes"))
    confirmed = await until(visitor, "message", lambda m: "queue" in m["metadata"])
    assert confirmed[-1]["sender_kind"] == "assistant"
    assert confirmed[-1]["metadata"]["queue"]["position"] == 1
    resumed = await visitor.ok("resume", {"conversation_id": conversation_id})
    assert resumed["conversation"]["owner"] == "queue"
    await visitor.close()
