"""The assistant as a participant: why it steps back, and the fixed things it says.

The answers themselves come from the answering pipeline (server/assistant); these are the
messages around them: joining, confirming a request for a person, handing over, closing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any

from .intents import Intent, questions_among
from .models import Message, SenderKind, Visibility
from .routing import AssistantMode


class HandoffReason(StrEnum):
    CUSTOMER_REQUEST = "customer_request"  # the customer asked for a person
    TURN_LIMIT = "turn_limit"  # the assistant answered as often as it may in one conversation
    ASSISTANT_ERROR = "assistant_error"  # answering failed (or its process died)
    AGENT_TOOK_OVER = "agent_took_over"  # an agent claimed it or replied in it
    AGENT_AVAILABLE = "agent_available"  # routing assigned a person while the assistant answered


def greeting(name: str, mode: AssistantMode) -> str:
    if mode is AssistantMode.FIRST:
        return (
            f"Hi! I'm {name}, a virtual assistant. I answer from our help center. "
            "If you'd rather talk to a person, just say so at any time."
        )
    return (
        f"Hi! I'm {name}, a virtual assistant. Everyone on our team is busy right now, so "
        "I'll try to help from our help center while you wait. You keep your place in line, "
        "and you can ask for a person at any time."
    )


def queue_sentence(queue: Mapping[str, Any] | None) -> str:
    """ "You're number 2 in line (about 3 minutes)." from a queue position payload."""
    if not queue or not queue.get("position"):
        return "A person from our team will reply here as soon as possible."
    sentence = f"You're number {queue['position']} in line"
    seconds = queue.get("estimated_wait_seconds")
    if queue.get("enough_data") and seconds is not None:
        minutes = max(1, round(seconds / 60))
        sentence += f" (about {minutes} minute{'s' if minutes != 1 else ''})"
    return sentence + ". A person from our team will reply here."


def person_requested(queue: Mapping[str, Any] | None) -> str:
    return f"Sure, I've asked for a person from our team to take over. {queue_sentence(queue)}"


def turn_limit_reached(queue: Mapping[str, Any] | None) -> str:
    return (
        "I've answered as much as I can in this conversation, so I'm handing it to a person "
        f"from our team. {queue_sentence(queue)}"
    )


def answer_failed(queue: Mapping[str, Any] | None) -> str:
    return (
        "Sorry, something went wrong on my side and I couldn't answer. I've passed your "
        f"question to our team. {queue_sentence(queue)}"
    )


def handover_note(agent_name: str) -> str:
    return (
        f"{agent_name} from our team is taking over now. I've passed on our conversation, "
        "so you won't need to repeat yourself."
    )


CLOSING = "Glad I could help! I've closed this conversation. Write again any time."

# Replies to messages with nothing to look up (core/intents.py): no help-center answer, no
# offer of a person, and no answer counted against the turn limit.
SMALL_TALK = {
    Intent.GREETING: "How can I help you today? Ask me your question and I'll look it up.",
    Intent.THANKS: (
        "You're welcome! Is there anything else I can help with? If not, say "
        '"that solved it" and I\'ll close this conversation.'
    ),
    Intent.YES: "Sure, what would you like to know?",
    Intent.NO: "Alright. If anything else comes up, just write it here.",
}

_REASONS = {
    HandoffReason.CUSTOMER_REQUEST: "the customer asked for a person",
    HandoffReason.TURN_LIMIT: "the assistant reached its answer limit for this conversation",
    HandoffReason.ASSISTANT_ERROR: "the assistant failed to answer",
    HandoffReason.AGENT_TOOK_OVER: "an agent took over",
    HandoffReason.AGENT_AVAILABLE: "an agent became available",
}


def describe_reason(reason: str | None) -> str:
    try:
        return _REASONS[HandoffReason(reason or HandoffReason.AGENT_AVAILABLE)]
    except ValueError:
        return str(reason)


def handover_brief(reason: str | None, summary: str, citations: Sequence[Mapping[str, Any]]) -> str:
    """The private note an agent finds at the top of what they take over."""
    lines = [f"Handed over by the assistant: {describe_reason(reason)}.", summary]
    if citations:
        cited = ", ".join(f"{c.get('title') or c.get('slug')} ({c.get('slug')})" for c in citations)
        lines.append(f"Articles cited to the customer: {cited}")
    return "\n".join(lines)


def cited_articles(messages: Sequence[Message]) -> list[dict[str, Any]]:
    """Every article the assistant cited to the customer, first mention first."""
    found: dict[str, dict[str, Any]] = {}
    for message in messages:
        if message.sender_kind is not SenderKind.ASSISTANT:
            continue
        if message.visibility is not Visibility.PUBLIC:
            continue
        for citation in message.metadata.get("citations") or []:
            if isinstance(citation, Mapping) and citation.get("slug"):
                slug = str(citation["slug"])
                found.setdefault(
                    slug, {"slug": slug, "title": citation.get("title"), "url": citation.get("url")}
                )
    return list(found.values())


BRIEF_ARTICLES = 3  # articles named in a hand-over brief
_BRIEF_CHARS = 160


def brief_summary(messages: Sequence[Message]) -> str:
    """At most three lines an agent reads at a glance: the customer's first question verbatim,
    their latest one if there were more, and what the assistant last answered."""
    public = [m for m in messages if m.visibility is Visibility.PUBLIC and m.body.strip()]
    written = [m.body.strip() for m in public if m.sender_kind is SenderKind.CUSTOMER]
    # "hello" or "human please" is no question; the reason line says they asked for a person.
    asked = questions_among(written)
    answers = [
        m for m in public if m.sender_kind is SenderKind.ASSISTANT and m.metadata.get("mode")
    ]
    if not asked:
        return "No messages from the customer yet."
    lines = [f"Customer asked: “{_clip(asked[0])}”"]
    if len(asked) > 1:
        lines.append(f"Latest: “{_clip(asked[-1])}”")
    if not answers:
        lines.append("The assistant did not answer yet.")
    elif answers[-1].metadata.get("handoff"):
        lines.append("The assistant could not answer from the help center.")
    else:
        first_sentence = answers[-1].body.strip().split("\n")[0].split(". ")[0]
        lines.append(f"Assistant answered: {_clip(first_sentence)}")
    return "\n".join(lines)


def _clip(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _BRIEF_CHARS else flat[: _BRIEF_CHARS - 1].rstrip() + "…"
