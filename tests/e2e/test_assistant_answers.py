"""The assistant answering customers end to end: real sockets, the real local model on a small
help center, and a local server speaking the OpenAI protocol where a model is wanted."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from server.assistant.extractive import DECLINE_TEXT, FALLBACK_INTRO
from server.config import Settings
from server.core import participant as texts
from server.core.intents import Intent
from server.core.models import AgentRole
from tests.e2e.assistant_support import (
    OFF_TOPIC,
    PASSWORD_QUESTION,
    an_answer,
    ask,
    assistant_messages,
    assistant_options,
    assistant_server,
    events_of,
    from_assistant,
    settled,
    state,
    timeline,
)
from tests.e2e.routing_support import eventually, set_team_mode, waiting_customer
from tests.fake_openai import FakeOpenAI, Reply, decline
from tests.support import RunningServer, agent, agent_token


@pytest.fixture
def server_options(help_center: None) -> dict[str, object]:
    return assistant_options()


@pytest_asyncio.fixture
async def model_server(settings: Settings, fake_openai: FakeOpenAI) -> AsyncIterator[RunningServer]:
    running = await assistant_server(
        settings, openai_api_key="test-key", openai_base_url=fake_openai.base_url,
        assistant_timeout_seconds=2.0, assistant_retries=0,
    )  # fmt: skip
    yield running
    await running.stop()


async def test_no_agent_online_extractive_answer_with_citations(server: RunningServer) -> None:
    cust, conversation_id = await waiting_customer(server, name="Casey")
    started = cust.started  # type: ignore[attr-defined]
    assert started["conversation"]["owner"] == "assistant"
    assert started["queue"]["position"] == 1  # it keeps its place in line meanwhile
    greeting = await cust.log.wait_for("message", from_assistant)
    assert greeting[0]["sender_name"] == "Parley Assistant" and greeting[0]["seq"] == 1
    received = timeline(cust)

    await ask(cust, conversation_id, PASSWORD_QUESTION)
    answer = (await cust.log.wait_for("message", an_answer, timeout=10))[0]
    assert answer["sender_kind"] == "assistant" and answer["seq"] == 3
    assert answer["metadata"]["mode"] == "extractive" and answer["metadata"]["handoff"] is False
    assert answer["metadata"]["citations"][0] == {
        "slug": "reset-password", "title": "Resetting a forgotten password", "url": None,
    }  # fmt: skip
    assert "Forgot password" in answer["body"]

    names = [
        name if name != "message" or not an_answer(data) else "answer" for name, data in received
    ]
    assert names.index("typing") < names.index("assistant_delta") < names.index("answer")
    typing = [data for name, data in received if name == "typing"]
    assert typing[0]["sender_kind"] == "assistant" and typing[0]["typing"] is True
    await cust.log.wait_for("typing", lambda e: e["sender_kind"] == "assistant" and not e["typing"])
    deltas = [data for name, data in received if name == "assistant_delta"]
    assert {d["stream_id"] for d in deltas} == {answer["metadata"]["stream_id"]}
    assert "".join(d["text"] for d in deltas) == answer["body"]

    # An ordinary message: receipts and history work as for anyone else.
    marked = await cust.ok("mark_read", {"conversation_id": conversation_id, "seq": answer["seq"]})
    assert marked["read_seq"] == answer["seq"]
    page = await cust.ok("history", {"conversation_id": conversation_id})
    assert [m["sender_kind"] for m in page["messages"]] == ["assistant", "customer", "assistant"]
    assert page["messages"][2]["sender_name"] == "Parley Assistant"
    row = await state(server, conversation_id)
    assert (row["owner"], row["assistant_turns"], row["assistant_run"], row["waiting"]) == (
        "assistant", 1, None, True,
    )  # fmt: skip
    assert await events_of(server, conversation_id) == [
        ("joined", "when_no_agent"),
        ("answered", "extractive"),
    ]
    await cust.close()


async def test_streamed_answer_from_the_model_reaches_both_sides(
    model_server: RunningServer, fake_openai: FakeOpenAI
) -> None:
    fake_openai.default = Reply(
        "Click **Forgot password?** on the sign-in page [1]. Then follow the email [1].", piece=6
    )
    cust, conversation_id = await waiting_customer(model_server)
    _, token = await agent_token(
        model_server, role=AgentRole.ADMIN, teams=()
    )  # sees it, never assigned
    admin = await agent(model_server.url, token)
    await admin.ok("join", {"conversation_id": conversation_id})

    await ask(cust, conversation_id, PASSWORD_QUESTION)
    answer = (await cust.log.wait_for("message", an_answer, timeout=10))[0]
    assert (
        answer["body"]
        == "Click **Forgot password?** on the sign-in page [1]. Then follow the email [1]."
    )
    assert answer["metadata"]["mode"] == "generated"
    assert [c["slug"] for c in answer["metadata"]["citations"]] == ["reset-password"]
    for side in (cust, admin):
        deltas = [
            d
            for d in side.log.of("assistant_delta")
            if d["stream_id"] == answer["metadata"]["stream_id"]
        ]
        # Checked text only, a sentence at a time.
        assert [d["text"] for d in deltas] == [
            "Click **Forgot password?** on the sign-in page [1].",
            " Then follow the email [1].",
        ]
    await admin.log.wait_for("message", an_answer)

    usage = await _usage(model_server, conversation_id)
    assert usage["answers"] == 1 and usage["llm_calls"] == 1 and usage["total_tokens"] > 0
    await cust.close()
    await admin.close()


async def _usage(server: RunningServer, conversation_id: str) -> dict[str, int]:
    from tests.e2e.assistant_support import fetch

    rows = await fetch(
        server,
        "SELECT * FROM assistant_usage WHERE conversation_id = $1",
        uuid.UUID(conversation_id),
    )
    return dict(rows[0])


async def test_out_of_scope_declines_offers_a_person_and_a_yes_takes_it(
    server: RunningServer,
) -> None:
    cust, conversation_id = await waiting_customer(server)
    await ask(cust, conversation_id, OFF_TOPIC)
    declined = (await cust.log.wait_for("message", an_answer, timeout=10))[0]
    assert declined["body"] == DECLINE_TEXT and declined["metadata"]["handoff"] is True
    assert declined["metadata"]["citations"] == []

    await ask(cust, conversation_id, "yes please")
    confirmed = (await cust.log.wait_for("message", lambda m: "queue" in m["metadata"], timeout=5))[
        0
    ]
    assert confirmed["sender_kind"] == "assistant"
    assert "You're number 1 in line" in confirmed["body"]
    place = await cust.log.wait_for("queue", lambda e: e["conversation_id"] == conversation_id)
    assert place[-1]["position"] == 1
    row = await state(server, conversation_id)
    assert (row["owner"], row["waiting"], row["handoff_reason"]) == (
        "queue",
        True,
        "customer_request",
    )

    # The assistant has stepped back: a new question gets no answer from it.
    await ask(cust, conversation_id, PASSWORD_QUESTION)
    await settled(server)
    assert (
        len(
            [
                m
                for m in await assistant_messages(server, conversation_id)
                if "stream_id" in m["metadata"]
            ]
        )
        == 1
    )
    assert ("stepped_back", "customer_request") in await events_of(server, conversation_id)
    await cust.close()


async def test_request_human_event_keeps_the_place_in_line(server: RunningServer) -> None:
    first, _ = await waiting_customer(server)
    cust, conversation_id = await waiting_customer(server)
    ack = await cust.ok("request_human", {"conversation_id": conversation_id})
    assert ack["queue"]["position"] == 2 and ack["conversation"]["owner"] == "queue"
    confirmed = await cust.log.wait_for("message", lambda m: "queue" in m["metadata"])
    assert "You're number 2 in line" in confirmed[0]["body"]
    # Asking again is harmless; a stranger's conversation is not found.
    again = await cust.ok("request_human", {"conversation_id": conversation_id})
    assert again["queue"]["position"] == 2
    refused = await first.call("request_human", {"conversation_id": conversation_id})
    assert refused["error"]["code"] == "not_found"
    bad = await cust.call("request_human", {"conversation_id": conversation_id, "now": True})
    assert bad["error"]["code"] == "unknown_field"
    for c in (first, cust):
        await c.close()


async def test_plain_requests_for_a_person_in_three_languages(server: RunningServer) -> None:
    for text in (
        "talk to a person",
        "Ich möchte mit einem Menschen sprechen",
        "quiero hablar con un agente",
    ):
        cust, conversation_id = await waiting_customer(server)
        await ask(cust, conversation_id, text)
        confirmed = await cust.log.wait_for(
            "message", lambda m: "queue" in m["metadata"], timeout=5
        )
        assert "in line" in confirmed[0]["body"]
        assert (await state(server, conversation_id))["owner"] == "queue"
        assert not [
            m
            for m in await assistant_messages(server, conversation_id)
            if "stream_id" in m["metadata"]
        ]
        await cust.close()


async def test_team_mode_off_never_answers(server: RunningServer) -> None:
    await set_team_mode(server, "support", assistant_mode="off")
    cust, conversation_id = await waiting_customer(server)
    assert cust.started["conversation"]["owner"] == "queue"  # type: ignore[attr-defined]
    await ask(cust, conversation_id, PASSWORD_QUESTION)
    await settled(server)
    assert await assistant_messages(server, conversation_id) == []
    assert not cust.log.of("assistant_delta")
    await cust.close()


async def test_first_mode_answers_even_with_agents_online(server: RunningServer) -> None:
    await set_team_mode(server, "support", assistant_mode="first")
    _, token = await agent_token(server, name="Robin")
    staff = await agent(server.url, token)
    cust, conversation_id = await waiting_customer(server)
    assert cust.started["conversation"]["owner"] == "assistant"  # type: ignore[attr-defined]
    assert cust.started["queue"] is None  # waits for a hand-over, not in line  # type: ignore[attr-defined]
    await ask(cust, conversation_id, PASSWORD_QUESTION)
    await cust.log.wait_for("message", an_answer, timeout=10)
    row = await state(server, conversation_id)
    assert (row["owner"], row["assigned_agent_id"], row["waiting"]) == ("assistant", None, False)
    assert not staff.log.of("assigned")
    await cust.close()
    await staff.close()


@pytest.mark.parametrize("reply", [
    Reply("", calls=(decline("nothing about this"),), piece=5),
    Reply("Sadly that is not something our articles go into [1]. Anything else?", piece=5),
])  # fmt: skip
async def test_a_declining_model_shows_the_customer_only_the_offer(
    model_server: RunningServer, fake_openai: FakeOpenAI, reply: Reply
) -> None:
    """A call of the decline tool, or a hedge that cites a passage: not one word of the
    model's reply reaches either side, only the hand-over offer."""
    fake_openai.default = reply
    cust, conversation_id = await waiting_customer(model_server)
    await ask(cust, conversation_id, PASSWORD_QUESTION)
    answer = (await cust.log.wait_for("message", an_answer, timeout=10))[0]
    assert answer["body"] == DECLINE_TEXT and answer["metadata"]["handoff"] is True
    assert answer["metadata"]["mode"] == "declined" and answer["metadata"]["citations"] == []
    deltas = [(d["stream_id"], d["text"], d["restart"]) for d in cust.log.of("assistant_delta")]
    assert deltas == [(answer["metadata"]["stream_id"], DECLINE_TEXT, False)]
    (request,) = fake_openai.chat_requests
    assert [tool["function"]["name"] for tool in request["tools"]] == ["decline"]
    await cust.close()


async def test_a_model_failing_mid_answer_falls_back_and_stays_routable(
    model_server: RunningServer, fake_openai: FakeOpenAI
) -> None:
    fake_openai.default = Reply("Click **Forgot password?** and then follow the email we send [1].",
                                piece=5, fail_after=3)  # fmt: skip
    cust, conversation_id = await waiting_customer(model_server)
    await ask(cust, conversation_id, PASSWORD_QUESTION)
    answer = (await cust.log.wait_for("message", an_answer, timeout=10))[0]
    assert answer["metadata"]["mode"] == "fallback" and answer["body"].startswith(FALLBACK_INTRO)
    deltas = [
        d
        for d in cust.log.of("assistant_delta")
        if d["stream_id"] == answer["metadata"]["stream_id"]
    ]
    # The model broke off before a checked sentence: the customer saw only the quote.
    assert [(d["text"], d["restart"]) for d in deltas] == [(answer["body"], False)]
    row = await state(model_server, conversation_id)
    assert (row["waiting"], row["assistant_run"]) == (True, None)
    await cust.close()


async def test_an_answer_past_its_deadline_hands_over(
    settings: Settings, fake_openai: FakeOpenAI
) -> None:
    running = await assistant_server(
        settings, openai_api_key="test-key", openai_base_url=fake_openai.base_url,
        assistant_timeout_seconds=1.0, assistant_retries=0, assistant_deadline_seconds=1.5,
    )  # fmt: skip
    try:
        await set_team_mode(running, "support", assistant_mode="first")
        # Every piece arrives within the model timeout, but the answer takes far too long.
        fake_openai.default = Reply(
            "A very slow answer that keeps going and going [1]." * 3, piece=4, piece_delay=0.4
        )
        cust, conversation_id = await waiting_customer(running)
        await ask(cust, conversation_id, PASSWORD_QUESTION)
        sorry = await cust.log.wait_for(
            "message", lambda m: m["body"].startswith("Sorry"), timeout=10
        )
        assert "in line" in sorry[0]["body"]
        row = await state(running, conversation_id)
        assert (row["owner"], row["waiting"], row["handoff_reason"]) == (
            "queue",
            True,
            "assistant_error",
        )
        assert await eventually(lambda: _typing_stopped(cust))
        await cust.close()
    finally:
        await running.stop()


async def _typing_stopped(cust) -> bool:
    typing = [e for e in cust.log.of("typing") if e["sender_kind"] == "assistant"]
    return bool(typing) and typing[-1]["typing"] is False


async def test_greetings_thanks_and_a_plain_no_get_a_short_reply_not_an_answer(
    server: RunningServer,
) -> None:
    cust, conversation_id = await waiting_customer(server)
    await cust.log.wait_for("message", from_assistant)  # the assistant's own greeting
    replies = [
        ("hello, is anyone there?", texts.SMALL_TALK[Intent.GREETING]),
        (PASSWORD_QUESTION, None),  # answered from the help center
        ("thanks!", texts.SMALL_TALK[Intent.THANKS]),
        ("no", texts.SMALL_TALK[Intent.NO]),
        ("ok", texts.SMALL_TALK[Intent.YES]),  # no offer of a person was pending
    ]
    for said, reply in replies:
        posted = await ask(cust, conversation_id, said)
        answer = (
            await cust.log.wait_for(
                "message",
                lambda m, after=posted["seq"]: m["sender_kind"] == "assistant" and m["seq"] > after,
                timeout=10,
            )
        )[0]
        if reply is None:
            assert answer["metadata"]["citations"][0]["slug"] == "reset-password"
        else:
            assert answer["body"] == reply and answer["metadata"] == {}
    await settled(server)
    # Only the question was an answer: one stream, one turn; the conversation stays the
    # assistant's and keeps its place in line.
    assert len(cust.log.of("assistant_delta")) >= 1
    assert {d["stream_id"] for d in cust.log.of("assistant_delta")} == {
        m["metadata"]["stream_id"]
        for m in await assistant_messages(server, conversation_id)
        if "stream_id" in m["metadata"]
    }
    row = await state(server, conversation_id)
    assert (row["owner"], row["assistant_turns"], row["waiting"]) == ("assistant", 1, True)
    assert await events_of(server, conversation_id) == [
        ("joined", "when_no_agent"),
        ("answered", "extractive"),
    ]
    await cust.close()
