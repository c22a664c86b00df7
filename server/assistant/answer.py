"""The answering pipeline: retrieve, then generate (or quote), stream, and never invent."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import aclosing
from typing import Any, Protocol

import msgspec

from ..core.models import SenderKind, Visibility
from .citations import Citation, CitationRenderer, group_sources
from .extractive import DECLINE_TEXT, FALLBACK_INTRO, extractive_answer
from .llm import ChatModel, LLMError, TokenUsage, ToolCall
from .prompts import DECLINE_TOOL, DECLINE_TOOL_NAME, Turn, answer_messages
from .reply_gate import ReplyGate
from .retrieval import Retrieval, Retriever

log = logging.getLogger(__name__)

# A follow-up this short ("and for annual plans?") is retrieved together with the customer's
# previous message, which usually names the topic.
SHORT_FOLLOW_UP_WORDS = 6
HISTORY_TURNS = 10  # earlier messages shown to the model
MAX_QUESTION_CHARS = 2000
# From the question to the answer or the hand-over offer, whatever the model does: the
# extractive answer needs no model, so a model that hangs or breaks costs at most this.
ANSWER_BUDGET_SECONDS = 10.0


class AnswerMode:
    GENERATED = "generated"  # written by the language model from the passages
    EXTRACTIVE = "extractive"  # no language model configured: the best passage quoted
    DECLINED = "declined"  # nothing to answer from: handed to a person
    FALLBACK = "fallback"  # the language model failed: the best passage quoted instead


class Usage(msgspec.Struct, frozen=True):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    llm_calls: int = 0
    model: str | None = None

    @classmethod
    def of(cls, tokens: TokenUsage | None, model: str | None) -> Usage:
        if tokens is None:
            return cls()
        return cls(
            tokens.prompt_tokens, tokens.completion_tokens, tokens.total_tokens, tokens.calls,
            model if tokens.calls else None,
        )  # fmt: skip


class AnswerResult(msgspec.Struct, frozen=True):
    """The final answer. `handoff` asks for a person; `answer` is what the customer sees."""

    answer: str
    citations: list[Citation]
    handoff: bool
    usage: Usage
    mode: str

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = msgspec.to_builtins(self)
        return result


class Delta(msgspec.Struct, frozen=True):
    """A piece of the answer as it is produced. `restart`: drop what was shown so far (the
    model failed or declined mid-answer) and show this text instead."""

    text: str
    restart: bool = False


class ConversationItem(Protocol):
    """What the pipeline reads from a message (server.core.models.Message has it)."""

    @property
    def sender_kind(self) -> SenderKind: ...
    @property
    def body(self) -> str: ...
    @property
    def visibility(self) -> Visibility: ...


class AnswerStream:
    """`async for delta in stream` yields Deltas (ephemeral, for live display); then
    `await stream.result()` is the authoritative answer to post. `result()` alone also works."""

    def __init__(self, events: AsyncIterator[Delta | AnswerResult]) -> None:
        self._events = events
        self._result: AnswerResult | None = None

    def __aiter__(self) -> AnswerStream:
        return self

    async def __anext__(self) -> Delta:
        if self._result is not None:
            raise StopAsyncIteration
        item = await anext(self._events)
        if isinstance(item, AnswerResult):
            self._result = item
            raise StopAsyncIteration
        return item

    async def result(self) -> AnswerResult:
        async for _ in self:
            pass
        if self._result is None:  # pragma: no cover - the pipeline always ends with a result
            raise RuntimeError("the answer stream ended without a result")
        return self._result

    async def aclose(self) -> None:
        await self._events.aclose()  # type: ignore[attr-defined]


def turns(items: Sequence[ConversationItem], *, include_notes: bool = False) -> list[Turn]:
    """Messages as prompt turns; private notes only for staff-facing drafts."""
    result = []
    for item in items:
        if item.visibility is Visibility.INTERNAL:
            if include_notes:
                result.append(Turn("note", item.body))
            continue
        if item.body.strip():
            result.append(Turn(str(item.sender_kind), item.body))
    return result


def bounded(question: str) -> str:
    """A customer's text as retrieval reads it: the word lists and the lexical index scan all
    of it, so a message of many pages is cut to its first MAX_QUESTION_CHARS."""
    return question.strip()[:MAX_QUESTION_CHARS]


def retrieval_query(question: str, history: Sequence[Turn]) -> str:
    if len(question.split()) >= SHORT_FOLLOW_UP_WORDS:
        return question
    earlier = [t.text for t in history if t.speaker == "customer" and t.text != question]
    return f"{bounded(earlier[-1])}\n{question}" if earlier else question


def declined(usage: Usage | None = None) -> AnswerResult:
    return AnswerResult(DECLINE_TEXT, [], True, usage or Usage(), AnswerMode.DECLINED)


def quoted(retrieval: Retrieval, usage: Usage | None = None, *, fallback: bool) -> AnswerResult:
    if fallback:
        text, citations = extractive_answer(retrieval, intro=FALLBACK_INTRO)
        return AnswerResult(text, citations, False, usage or Usage(), AnswerMode.FALLBACK)
    text, citations = extractive_answer(retrieval)
    return AnswerResult(text, citations, False, usage or Usage(), AnswerMode.EXTRACTIVE)


class AnswerPipeline:
    """Question in, answer out: the exact steps the live assistant takes."""

    def __init__(
        self,
        retriever: Retriever,
        llm: ChatModel | None = None,
        *,
        budget_seconds: float = ANSWER_BUDGET_SECONDS,
    ) -> None:
        self.retriever = retriever
        self.llm = llm
        self.budget_seconds = budget_seconds

    def answer(self, question: str, history: Sequence[ConversationItem] = ()) -> AnswerStream:
        """Stream the answer to `question`; `history` is the conversation before it."""
        return AnswerStream(self._events(question, turns(history)))

    async def ask(self, question: str, history: Sequence[ConversationItem] = ()) -> AnswerResult:
        return await self.answer(question, history).result()

    async def _events(
        self, question: str, history: list[Turn]
    ) -> AsyncIterator[Delta | AnswerResult]:
        deadline = asyncio.get_running_loop().time() + self.budget_seconds
        question = bounded(question)
        retrieval = await self._retrieve(question, history) if question else None
        if retrieval is None or not retrieval.answerable:
            result = declined()
        elif self.llm is None:
            result = quoted(retrieval, fallback=False)
        else:
            async for item in self._generate(self.llm, question, retrieval, history, deadline):
                yield item
            return
        yield Delta(result.answer)
        yield result

    async def _retrieve(self, question: str, history: list[Turn]) -> Retrieval | None:
        try:
            return await self.retriever.retrieve(retrieval_query(question, history))
        except Exception:
            # The database or the embedder is down: a person can still help, so the customer
            # gets the hand-off answer instead of an error.
            log.exception("retrieval failed; handing the question to a person")
            return None

    async def _generate(
        self,
        llm: ChatModel,
        question: str,
        retrieval: Retrieval,
        history: list[Turn],
        deadline: float,
    ) -> AsyncIterator[Delta | AnswerResult]:
        """Stream only checked text (ReplyGate): nothing until a sentence cites a passage it
        was given and is grounded in it, then whole sentences. A call of the decline tool, a
        hedge or a reply without a grounded citation hands the question to a person."""
        sources = group_sources(retrieval.passages)
        renderer = CitationRenderer(sources)
        tool = llm.options.decline_tool
        messages = answer_messages(question, sources, history[-HISTORY_TURNS:], decline_tool=tool)
        gate = ReplyGate(question, sources, phrases=not tool)
        tokens = TokenUsage()
        text, sent, declined_by = "", "", ""
        try:
            stream = llm.stream(messages, tokens, deadline, tools=[DECLINE_TOOL] if tool else ())
            async with aclosing(stream) as pieces:
                async for piece in pieces:
                    if isinstance(piece, ToolCall):
                        if piece.name == DECLINE_TOOL_NAME:
                            declined_by = f"the decline tool ({piece.arguments[:200]})"
                        continue
                    text += piece
                    gate.feed(text)
                    if gate.declined:
                        break  # a hedge: nothing more of this reply will be shown
                    shown = renderer.render(gate.accepted.lstrip())
                    if len(shown) > len(sent):
                        yield Delta(shown[len(sent) :])
                        sent = shown
        except LLMError as exc:
            log.warning("answering from passages instead of the model: %s", exc)
            result = quoted(retrieval, Usage.of(tokens, llm.name), fallback=True)
            yield Delta(result.answer, restart=bool(sent))
            yield result
            return
        usage = Usage.of(tokens, llm.name)
        if not gate.declined:
            gate.finish(text)
        if declined_by or gate.declined:
            log.info("the model declined (%s)", declined_by or "no grounded citation")
            result = declined(usage)
            yield Delta(result.answer, restart=bool(sent))
            yield result
            return
        final = renderer.render(gate.accepted.strip())
        if final.startswith(sent):
            if len(final) > len(sent):
                yield Delta(final[len(sent) :])
        elif not sent.startswith(final):  # pragma: no cover - rendering is prefix-stable
            yield Delta(final, restart=True)
        yield AnswerResult(final, renderer.citations, False, usage, AnswerMode.GENERATED)
