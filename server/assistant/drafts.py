"""Help for agents: a conversation summary and a suggested reply, from the messages alone."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import msgspec

from ..core.intents import is_question, questions_among
from ..core.models import SenderKind, Visibility
from .answer import AnswerMode, ConversationItem, Usage, bounded, retrieval_query, turns
from .citations import Citation, CitationRenderer, group_sources
from .extractive import quote, reference
from .llm import ChatModel, LLMError, TokenUsage
from .prompts import is_no_answer, suggest_messages, summary_messages
from .retrieval import Passage, Retriever

log = logging.getLogger(__name__)

SUMMARY_QUESTIONS = 5  # the customer's last questions listed in an extractive summary
QUESTION_CHARS = 200
HISTORY_TURNS = 12


class SummaryItem(ConversationItem, Protocol):
    @property
    def metadata(self) -> Mapping[str, Any]: ...


class Summary(msgspec.Struct, frozen=True):
    text: str
    mode: str  # generated | extractive | fallback
    usage: Usage


class Suggestion(msgspec.Struct, frozen=True):
    """A draft reply for an agent; `found` is false when the help center has nothing."""

    text: str
    citations: list[Citation]
    found: bool
    mode: str
    usage: Usage


async def summarize(messages: Sequence[SummaryItem], llm: ChatModel | None) -> Summary:
    """A few lines for the agent taking over; private notes included (staff only)."""
    history = turns(messages, include_notes=True)
    if llm is None or not history:
        return Summary(extractive_summary(messages), AnswerMode.EXTRACTIVE, Usage())
    tokens = TokenUsage()
    try:
        text = await llm.complete(summary_messages(history[-HISTORY_TURNS * 3 :]), tokens)
    except LLMError as exc:
        log.warning("summarizing without the model: %s", exc)
        return Summary(
            extractive_summary(messages), AnswerMode.FALLBACK, Usage.of(tokens, llm.name)
        )
    return Summary(text.strip(), AnswerMode.GENERATED, Usage.of(tokens, llm.name))


def extractive_summary(messages: Sequence[SummaryItem]) -> str:
    """The customer's questions, the articles the assistant cited, and whether it handed off."""
    public = [m for m in messages if m.visibility is Visibility.PUBLIC and m.body.strip()]
    written = [m.body for m in public if m.sender_kind is SenderKind.CUSTOMER]
    asked = [_clip(text) for text in questions_among(written)]
    cited: dict[str, str] = {}
    handed_off = False
    for message in public:
        if message.sender_kind is not SenderKind.ASSISTANT:
            continue
        handed_off = handed_off or bool(message.metadata.get("handoff"))
        for citation in message.metadata.get("citations") or []:
            if isinstance(citation, Mapping) and citation.get("slug"):
                cited.setdefault(str(citation["slug"]), str(citation.get("title") or ""))
    agent_replies = sum(m.sender_kind is SenderKind.AGENT for m in public)
    if not asked and not agent_replies:
        return "No messages from the customer yet."
    lines = ["Customer asked:", *(f"- {q}" for q in asked[-SUMMARY_QUESTIONS:])]
    if len(asked) > SUMMARY_QUESTIONS:
        lines.insert(1, f"- (… {len(asked) - SUMMARY_QUESTIONS} earlier messages)")
    if cited:
        names = ", ".join(f"“{title or slug}” ({slug})" for slug, title in cited.items())
        lines.append(f"Articles the assistant cited: {names}")
    if handed_off:
        lines.append("The assistant could not answer and asked for a person.")
    lines.append(f"Agent replies so far: {agent_replies}")
    return "\n".join(lines)


async def suggest_reply(
    messages: Sequence[ConversationItem], retriever: Retriever, llm: ChatModel | None
) -> Suggestion:
    """A reply an agent can edit and send, drafted from the knowledge base."""
    history = turns(messages, include_notes=True)
    latest = latest_customer_text(messages)
    if not latest:
        return Suggestion("", [], False, AnswerMode.DECLINED, Usage())
    retrieval = await retriever.retrieve(retrieval_query(bounded(latest), history))
    if not retrieval.answerable:
        return Suggestion("", [], False, AnswerMode.DECLINED, Usage())
    sources = group_sources(retrieval.passages)
    if llm is None:
        return _quoted_suggestion(sources, AnswerMode.EXTRACTIVE, Usage())
    tokens = TokenUsage()
    renderer = CitationRenderer(sources)
    try:
        prompt = suggest_messages(latest, sources, history[-HISTORY_TURNS:])
        text = await llm.complete(prompt, tokens)
    except LLMError as exc:
        log.warning("suggesting a quote instead of a drafted reply: %s", exc)
        return _quoted_suggestion(sources, AnswerMode.FALLBACK, Usage.of(tokens, llm.name))
    usage = Usage.of(tokens, llm.name)
    if is_no_answer(text, len(sources)):
        return Suggestion("", [], False, AnswerMode.DECLINED, usage)
    final = renderer.render(text.strip())
    return Suggestion(final, renderer.citations, True, AnswerMode.GENERATED, usage)


def latest_customer_text(messages: Sequence[ConversationItem]) -> str:
    """The customer's questions since anyone else last spoke (they often split a question);
    a greeting, thanks or "a person please" among them is nothing to draft an answer to."""
    public = [m for m in messages if m.visibility is Visibility.PUBLIC and m.body.strip()]
    pending: list[str] = []
    for message in reversed(public):
        if message.sender_kind is not SenderKind.CUSTOMER:
            if pending:
                break
            continue
        pending.insert(0, message.body.strip())
    return "\n".join(text for text in pending if is_question(text))


def _quoted_suggestion(sources: list[list[Passage]], mode: str, usage: Usage) -> Suggestion:
    best = max(sources[0], key=lambda p: p.score)
    citation = Citation(best.slug, best.title, best.url, best.score)
    text = "\n".join(
        [
            "Thanks for your message! Here is what our help center says:",
            "",
            quote(best.text),
            "",
            f"More in {reference(citation)}.",
        ]
    )
    return Suggestion(text, [citation], True, mode, usage)


def _clip(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= QUESTION_CHARS else flat[: QUESTION_CHARS - 1] + "…"
