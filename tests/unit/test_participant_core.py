"""The assistant participant's pure parts: the intent matcher, its fixed texts, splitting the
question from the history, and the settings that bound it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from server.assistant_runtime.participant import offered_person, split_question
from server.config import ConfigError, load_settings
from server.core import participant as texts
from server.core.intents import Intent, classify
from server.core.models import Message, SenderKind, Visibility
from server.core.routing import AssistantMode

H, S, Y = Intent.HUMAN, Intent.SOLVED, Intent.YES


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        # asking for a person, plainly
        ("human", H), ("Agent please", H), ("a real person!", H), ("live agent", H),
        ("talk to a human", H), ("can I speak with someone?", H), ("connect me to an agent", H),
        ("I want to talk to a person", H), ("I need a human", H), ("transfer me", H),
        ("Can I talk to your support team?", H), ("please escalate this", H),
        ("Mitarbeiter bitte", H), ("Ich möchte mit einem Menschen sprechen", H),
        ("Kann ich mit jemandem sprechen?", H),
        ("quiero hablar con una persona", H), ("un humano por favor", H),
        ("¿Puedo hablar con un agente?", H),
        # questions that only mention people
        ("how do I add an agent to my team?", None), ("I need to add an agent to my workspace", None),
        ("I need support with calendar sync", None), ("Can I invite someone to my team?", None),
        ("how does the agent routing work?", None), ("how do I put this in my calendar", None),
        ("how do I transfer ownership", None),
        # solved
        ("that solved it, thanks!", S), ("thanks, that's all", S), ("perfect, that worked", S),
        ("Problem solved", S), ("It works now, thank you", S),
        ("das hat geholfen, danke", S), ("eso lo resolvió, gracias", S),
        # not solved
        ("That didn't solve it", None), ("it still doesn't work", None),
        ("that's not what I needed", None), ("thanks", Intent.THANKS),
        ("that solved it but I have another question", None),
        ("that fixed nothing", None), ("it worked yesterday", None),
        ("it worked before the update", None), ("das hat nichts gebracht", None),
        # questions about a fix
        ("that worked?", None), ("is this fixed in version 2", None),
        ("is the problem solved in the new version?", None), ("hat das geholfen?", None),
        # solved, then a question without a question mark: the customer still needs help
        ("that worked, how do I export it now", None), ("it works on desktop, what about mobile", None),
        ("that fixed it, where do I find the invoice", None),
        ("that solved it, can I also add a second user", None),
        ("perfect that helped. also how do i cancel my order", None),
        ("that helped, one more question", None), ("das hat geholfen, wie ändere ich das Logo", None),
        # solved for a while, in part, or somewhere only: a complaint
        ("it worked at first", None), ("it worked for a day then stopped", None),
        ("it worked for a few minutes and then crashed again", None), ("it worked last week", None),
        ("it worked this morning", None), ("it works only on wifi", None),
        ("that fixed it temporarily", None), ("it helped a bit", None),
        ("it works sometimes", None), ("it works except for the export", None),
        ("that fixed it, though the error is back", None), ("eso funcionó la semana pasada", None),
        ("das hat geholfen, aber jetzt kommt ein anderer Fehler", None),
        ("eso funcionó pero ahora falla la exportación", None),
        # "that's all" closing what the customer knows, not the conversation
        ("that's all the info I have", None), ("that is all the information I have", None),
        ("that's everything I can tell you", None), ("das ist alles was ich weiß", None),
        ("eso es todo lo que sé", None),
        # a question about how something works
        ("show me how it works", None), ("explain how that works with teams", None),
        # plain yes (an answer to an offer)
        ("yes please", Y), ("Ja", Y), ("sí", Y), ("ok", Y),
        # ordinary questions, and a long message that mentions everything
        ("how do I reset my password", None), ("", None),
        ("I talked to a human last week and they said the refund would take ten days, is that right?", None),
    ],
)  # fmt: skip
def test_intents(text: str, intent: Intent | None) -> None:
    assert classify(text) is intent


def test_queue_sentences() -> None:
    assert (
        texts.queue_sentence(None) == "A person from our team will reply here as soon as possible."
    )
    no_data = {"position": 2, "estimated_wait_seconds": None, "enough_data": False}
    assert texts.queue_sentence(no_data).startswith("You're number 2 in line.")
    known = {"position": 1, "estimated_wait_seconds": 170, "enough_data": True}
    assert "number 1 in line (about 3 minutes)" in texts.person_requested(known)
    one = {"position": 1, "estimated_wait_seconds": 20, "enough_data": True}
    assert "(about 1 minute)" in texts.queue_sentence(one)
    assert "Robin" in texts.handover_note("Robin")
    assert "Parley Assistant" in texts.greeting("Parley Assistant", AssistantMode.FIRST)
    assert "wait" in texts.greeting("Parley Assistant", AssistantMode.WHEN_NO_AGENT)


def test_handover_brief_names_the_reason_and_the_articles() -> None:
    brief = texts.handover_brief(
        "customer_request",
        "Customer asked:\n- refunds?",
        [{"slug": "refund-policy", "title": "Refund policy"}],
    )
    assert brief.startswith("Handed over by the assistant: the customer asked for a person.")
    assert "Refund policy (refund-policy)" in brief
    assert texts.describe_reason(None) == "an agent became available"
    assert texts.describe_reason("something new") == "something new"


def _message(
    seq: int, kind: SenderKind, body: str, *, internal: bool = False, **metadata: Any
) -> Message:
    return Message(
        id=uuid.uuid4(), conversation_id=uuid.UUID(int=1), seq=seq, sender_kind=kind, sender_id=None,
        sender_name=None, client_id=None, body=body,
        visibility=Visibility.INTERNAL if internal else Visibility.PUBLIC, attachments=(),
        metadata=metadata, created_at=datetime.now(UTC),
    )  # fmt: skip


def test_the_question_is_what_the_customer_wrote_since_anyone_else_spoke() -> None:
    history = [
        _message(1, SenderKind.ASSISTANT, "Hi! I'm the assistant."),
        _message(2, SenderKind.CUSTOMER, "my invoice"),
        _message(3, SenderKind.AGENT, "a note", internal=True),
        _message(4, SenderKind.CUSTOMER, "it shows the wrong VAT"),
    ]
    question, earlier = split_question(history)
    assert question == "my invoice\nit shows the wrong VAT"
    assert [m.seq for m in earlier] == [1]
    answered = [*history, _message(5, SenderKind.ASSISTANT, "Here is how…")]
    assert split_question(answered)[0] == ""


def test_a_yes_accepts_only_an_offer_just_made() -> None:
    offer = _message(2, SenderKind.ASSISTANT, "I don't know…", handoff=True)
    answer = _message(2, SenderKind.ASSISTANT, "Here is how…", handoff=False)
    yes = _message(3, SenderKind.CUSTOMER, "yes")
    assert offered_person([offer, yes], yes.seq)
    assert not offered_person([answer, yes], yes.seq)
    assert not offered_person([yes], yes.seq)


def test_participant_settings() -> None:
    settings = load_settings(environ={})
    assert (settings.assistant_mode, settings.assistant_max_turns) == ("when_no_agent", 10)
    environ = {"PARLEY_ASSISTANT_MODE": "first", "PARLEY_ASSISTANT_NAME": "Ada",
               "PARLEY_ASSISTANT_AVATAR_URL": "https://example.test/ada.png", "PARLEY_ASSISTANT_MAX_TURNS": "3"}  # fmt: skip
    custom = load_settings(environ=environ)
    assert (custom.assistant_mode, custom.assistant_name, custom.assistant_max_turns) == (
        "first",
        "Ada",
        3,
    )
    for bad in ({"PARLEY_ASSISTANT_MODE": "always"}, {"PARLEY_ASSISTANT_NAME": " "},
                {"PARLEY_ASSISTANT_MAX_TURNS": "-1"}, {"PARLEY_ASSISTANT_DEADLINE": "5"}):  # fmt: skip
        with pytest.raises(ConfigError):
            load_settings(environ=bad)


def test_the_handover_brief_is_five_lines_at_most() -> None:
    first = "I was charged twice for invoice LMN-1234, can you refund one?"
    history = [
        _message(1, SenderKind.ASSISTANT, "Hi! I'm the assistant."),
        _message(2, SenderKind.CUSTOMER, first),
        _message(3, SenderKind.ASSISTANT, "Refunds of double charges take 5 days [1]. More text.",
                 mode="generated", handoff=False,
                 citations=[{"slug": s, "title": s.title()} for s in ("a", "b", "c", "d")]),
        _message(4, SenderKind.CUSTOMER, "that did not help, " * 20),
        _message(5, SenderKind.AGENT, "note", internal=True),
    ]  # fmt: skip
    summary = texts.brief_summary(history)
    assert summary.splitlines() == [
        f"Customer asked: “{first}”",
        f"Latest: “{('that did not help, ' * 20).strip()[:159].rstrip()}…”",
        "Assistant answered: Refunds of double charges take 5 days [1]",
    ]
    citations = texts.cited_articles(history)[: texts.BRIEF_ARTICLES]
    brief = texts.handover_brief("customer_request", summary, citations)
    assert len(brief.splitlines()) == 5
    assert brief.splitlines()[-1] == "Articles cited to the customer: A (a), B (b), C (c)"
    declined = [
        history[1],
        _message(3, SenderKind.ASSISTANT, "I don't know.", mode="declined", handoff=True),
    ]
    assert texts.brief_summary(declined).splitlines()[-1] == (
        "The assistant could not answer from the help center."
    )


def test_the_brief_quotes_the_first_question_not_a_greeting() -> None:
    question = "how do I move my bookings to another calendar"
    history = [
        _message(1, SenderKind.CUSTOMER, "hi, is anyone there?"),
        _message(2, SenderKind.ASSISTANT, "How can I help you today?"),
        _message(3, SenderKind.CUSTOMER, question),
        _message(4, SenderKind.CUSTOMER, "a human please"),
    ]
    assert texts.brief_summary(history).splitlines()[:2] == [
        f"Customer asked: “{question}”",
        "The assistant did not answer yet.",
    ]
    # With nothing but such messages, they are what the customer wrote.
    assert texts.brief_summary([history[0], history[3]]).splitlines()[:2] == [
        "Customer asked: “hi, is anyone there?”",
        "Latest: “a human please”",
    ]
