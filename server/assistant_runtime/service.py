"""The assistant as configured: knowledge base, retriever, language model and pipelines."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import asyncpg

from ..actions.knowledge import KnowledgeBase
from ..assistant.answer import AnswerPipeline, AnswerResult, AnswerStream, ConversationItem
from ..assistant.breaker import CircuitBreaker
from ..assistant.drafts import Suggestion, Summary, SummaryItem, suggest_reply, summarize
from ..assistant.embeddings import Embedder, OpenAIEmbedder, shared_local_minilm
from ..assistant.llm import ChatModel, LLMOptions, make_client
from ..assistant.retrieval import Retriever
from ..config import Settings
from .upkeep import UpkeepState

if TYPE_CHECKING:
    import openai

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Assistant:
    """Everything the assistant participant, the REST API and the CLI call."""

    knowledge: KnowledgeBase
    retriever: Retriever
    pipeline: AnswerPipeline
    llm: ChatModel | None
    client: openai.AsyncOpenAI | None = None
    upkeep: UpkeepState = field(default_factory=UpkeepState)

    def answer(self, question: str, history: Sequence[ConversationItem] = ()) -> AnswerStream:
        """Stream the answer to a customer's question (see AnswerStream)."""
        return self.pipeline.answer(question, history)

    async def ask(self, question: str, history: Sequence[ConversationItem] = ()) -> AnswerResult:
        return await self.pipeline.ask(question, history)

    async def summarize(self, messages: Sequence[SummaryItem]) -> Summary:
        return await summarize(messages, self.llm)

    async def suggest_reply(self, messages: Sequence[ConversationItem]) -> Suggestion:
        return await suggest_reply(messages, self.retriever, self.llm)

    async def aclose(self) -> None:
        if self.client is not None:
            await self.client.close()


def make_embedder(settings: Settings, client: openai.AsyncOpenAI | None) -> Embedder:
    if settings.embedder == "openai":
        if client is None:
            raise ValueError("the openai embedder needs OPENAI_API_KEY")
        return OpenAIEmbedder(client, settings.embedding_model, settings.embedding_dimensions)
    return shared_local_minilm()


def build_assistant(settings: Settings, db: asyncpg.Pool) -> Assistant:
    client = None
    if settings.openai_api_key:
        client = make_client(
            settings.openai_api_key, settings.openai_base_url, settings.assistant_timeout_seconds
        )
    embedder = make_embedder(settings, client)
    knowledge = KnowledgeBase(db, embedder)
    retriever = Retriever(db, embedder, threshold=settings.assistant_threshold)
    llm = None
    if client is not None:
        options = LLMOptions(
            model=settings.assistant_model,
            timeout_seconds=settings.assistant_timeout_seconds,
            retries=settings.assistant_retries,
            max_tokens=settings.assistant_max_tokens,
            decline_tool=settings.assistant_decline_tool,
        )
        breaker = CircuitBreaker(
            settings.assistant_breaker_failures, settings.assistant_breaker_cooldown_seconds
        )
        llm = ChatModel(client, options, breaker)
    pipeline = AnswerPipeline(
        retriever,
        llm,
        budget_seconds=min(
            settings.assistant_answer_budget_seconds, settings.assistant_deadline_seconds
        ),
    )
    return Assistant(knowledge, retriever, pipeline, llm, client)
