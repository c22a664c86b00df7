"""A table of ways customers ask for a person (and look-alikes that must not count), in
English and German."""

from __future__ import annotations

import pytest

from server.core.intents import Intent, classify

WANTS_A_PERSON = [
    # English
    "human",
    "agent please",
    "a real person please",
    "live agent",
    "talk to a human",
    "can I speak with someone",
    "I want to talk to a person",
    "i need a human",
    "connect me to an agent",
    "transfer me to support",
    "put me through to someone",
    "no wait, a human please, this is urgent",
    "speak to a manager",
    "can I talk to your manager",
    "I'd like to speak with customer service",
    "I would like to talk to customer support",
    "let me talk to a real person",
    "get me a human",
    "is there a person I can talk to?",
    "are there any humans there",
    "can a human help me",
    "I want a real human, not a bot",
    "stop, I want to talk to someone",
    "please escalate this",
    "representative",
    "operator",
    "customer service please",
    "call me, I need a person",
    "I'd rather speak to someone from your team",
    "hand me over to an agent",
    "this bot is useless, get me a person",
    "can someone from support contact me",
    "human please!!",
    "talk to support",
    "is there anyone I can talk to",
    "can you get a human",
    "I need help from a real person",
    "contact support",
    "please have someone call me",
    "this bot is useless",
    "could a person look at this",
    "Is a human available?",
    "are any agents online",
    "is anyone there",
    # German
    "Mitarbeiter bitte",
    "ich möchte mit einem Menschen sprechen",
    "mit einem Mitarbeiter sprechen",
    "kann ich mit jemandem reden",
    "ich will einen echten Menschen",
    "bitte verbinden Sie mich mit einem Berater",
    "ich brauche einen Mitarbeiter",
    "echte Person bitte",
    "Kundenservice bitte",
    "kann ich bitte mit dem Support sprechen",
    "ich möchte mit Ihrem Vorgesetzten sprechen",
    "keinen Bot, einen Menschen bitte",
    "gibt es hier einen Menschen",
    "Mensch bitte, es ist dringend",
    "Bitte einen Mitarbeiter",
    "kann mir ein Mitarbeiter helfen",
    "Support kontaktieren",
    "der Bot hilft mir nicht",
    "kann mir jemand helfen?",
    "can you have someone call me",
    "this bot is useless!!",
    "is there anyone I can call",
    "is there someone I could ask",
    "could you get me an agent please",
    "please get me a human",
    "can you get someone",
]

NOT_A_REQUEST = [
    # English look-alikes
    "what is your human resources policy",
    "I'm not a robot",
    "how do I add an agent to my team?",
    "how many people can join the free plan",
    "can I invite someone to my workspace",
    "how do I transfer ownership of the workspace",
    "does the API support personal keys",
    "where do I manage agents' permissions",
    "the person I invited didn't get the email",
    "can my manager see my calendar",
    "how do I share a booking page with a colleague",
    "customer support hours on weekends?",
    "can someone help me add a user",
    "I want support for SSO",
    "is the manager role able to delete events",
    # German look-alikes
    "wie füge ich einen Mitarbeiter zum Team hinzu",
    "ich bin kein Roboter",
    "wie viele Personen passen in den kostenlosen Plan",
    "kann mein Vorgesetzter meinen Kalender sehen",
    "wie lade ich jemanden in meinen Arbeitsbereich ein",
    "kann ich einen Mitarbeiter hinzufügen",
    "wie kann ein Mitarbeiter Termine sehen",
    # Questions near the new request shapes
    "how do I contact support by phone",
    "is anyone using the API with Python",
    "are agents available on weekends",
    "can someone look at the settings page for teams",
    "the bot icon is too big",
    "how do I call an agent's attention to a chat",
    "how do I get people to sign up",
    "is there an agent limit on the free plan",
    "how can an agent see my booking",
    "can the AI answer in German",
    # Product questions in the shapes of requests for a person
    "kann mir jemand helfen, mein Passwort zurückzusetzen",
    "kann mir ein Mitarbeiter helfen den Export einzurichten",
    "how do I let people contact me through my site",
    "how do I have someone call me back from my booking page",
    "the robot is not helping clean corners",
    "my robot is useless on thick carpet",
    "my chatbot is not helpful to my customers",
    "is there anyone I can invite for free",
    "is there a person I can add as an admin",
    "can you get the manager view to show totals",
    "please get the agent report for last week",
    "could you get the staff schedule to sync",
]


def test_the_table_is_large_enough() -> None:
    assert len(WANTS_A_PERSON) + len(NOT_A_REQUEST) >= 60
    assert len(NOT_A_REQUEST) >= 15


@pytest.mark.parametrize("text", WANTS_A_PERSON)
def test_asks_for_a_person(text: str) -> None:
    assert classify(text) is Intent.HUMAN


@pytest.mark.parametrize("text", NOT_A_REQUEST)
def test_is_not_a_request_for_a_person(text: str) -> None:
    assert classify(text) is not Intent.HUMAN


# Messages with nothing to look up: the assistant replies in passing instead of answering.
SMALL_TALK = [
    ("hello", Intent.GREETING),
    ("Hi!", Intent.GREETING),
    ("hey there", Intent.GREETING),
    ("good morning", Intent.GREETING),
    ("hello?", Intent.GREETING),
    ("anyone there?", Intent.GREETING),
    ("hi, is anyone there?", Intent.GREETING),
    ("are you there", Intent.GREETING),
    ("I have a question", Intent.GREETING),
    ("hi, quick question", Intent.GREETING),
    ("help", Intent.GREETING),
    ("I need help", Intent.GREETING),
    ("can you help me?", Intent.GREETING),
    ("hello, can you help me please", Intent.GREETING),
    ("Hallo, ich habe eine Frage", Intent.GREETING),
    ("Guten Tag", Intent.GREETING),
    ("ist da jemand?", Intent.GREETING),
    ("Hilfe bitte", Intent.GREETING),
    ("hola, tengo una pregunta", Intent.GREETING),
    ("buenos días", Intent.GREETING),
    ("¿me puedes ayudar?", Intent.GREETING),
    ("thanks", Intent.THANKS),
    ("thank you so much!", Intent.THANKS),
    ("ok, thanks", Intent.THANKS),
    ("great thanks", Intent.THANKS),
    ("danke schön", Intent.THANKS),
    ("vielen Dank", Intent.THANKS),
    ("muchas gracias", Intent.THANKS),
    ("no", Intent.NO),
    ("no thanks", Intent.NO),
    ("nope", Intent.NO),
    ("nein danke", Intent.NO),
    ("no gracias", Intent.NO),
]

# Questions and requests that start like small talk.
NOT_SMALL_TALK = [
    ("hi, how do I reset my password", None),
    ("hello, my invoice is wrong", None),
    ("help me export my data", None),
    ("I need help with the calendar sync", None),
    ("I have a question about billing", None),
    ("can you help me change my plan?", None),
    ("thanks, but how do I cancel?", None),
    ("thanks for nothing, it still crashes", None),
    ("no, it still doesn't work", None),
    ("no wait, a human please", Intent.HUMAN),
    ("hello? I want to talk to a person", Intent.HUMAN),
    ("is there anyone I can talk to", Intent.HUMAN),
    ("got it, thanks", Intent.SOLVED),
    ("thanks, that's all", Intent.SOLVED),
    ("Hallo, wie ändere ich mein Passwort", None),
    ("hola, ¿cómo cambio mi contraseña?", None),
    ("what does the help button do", None),
    ("no sound in my meetings", None),
]


@pytest.mark.parametrize(("text", "intent"), SMALL_TALK + NOT_SMALL_TALK)
def test_small_talk_is_told_from_questions(text: str, intent: Intent | None) -> None:
    assert classify(text) is intent
