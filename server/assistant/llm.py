"""Streaming chat completions from any OpenAI-compatible server, with timeouts, bounded
retries and a circuit breaker."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncGenerator, Callable, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from .breaker import CircuitBreaker

if TYPE_CHECKING:
    import openai

log = logging.getLogger(__name__)

ChatMessage = dict[str, str]  # {"role": ..., "content": ...}
Tool = dict[str, Any]  # an OpenAI tool definition: {"type": "function", "function": {...}}

# Status codes worth another try: timeouts, conflicts, rate limits and server-side failures.
_RETRY_STATUS = frozenset({408, 409, 429})


class LLMError(Exception):
    """The model gave no complete answer: unreachable, refused, timed out or broke off."""


class LLMUnavailable(LLMError):
    """The circuit breaker is open: the model failed repeatedly and is not being called."""


@dataclass(slots=True)
class TokenUsage:
    """Tokens the model reported, summed over calls (recorded per conversation later)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    calls: int = 0

    def add(self, usage: Any) -> None:
        self.prompt_tokens += int(getattr(usage, "prompt_tokens", 0) or 0)
        self.completion_tokens += int(getattr(usage, "completion_tokens", 0) or 0)
        self.total_tokens += int(getattr(usage, "total_tokens", 0) or 0)


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A function the model called, assembled from its streamed `delta.tool_calls` pieces."""

    name: str
    arguments: str  # JSON text, as the model wrote it


@dataclass(frozen=True, slots=True)
class LLMOptions:
    model: str = "gpt-4o-mini"
    # Longest wait for the first token and between two tokens; a stalled stream fails then.
    timeout_seconds: float = 20.0
    retries: int = 2  # further attempts after the first, only before any text was produced
    max_tokens: int = 500
    temperature: float = 0.1  # grounded answers: little room for creativity
    backoff_seconds: float = 0.3
    # Offer the model a `decline` tool (function calling); off for servers without tool
    # support, which then decline with the NO_ANSWER token instead.
    decline_tool: bool = True


def make_client(api_key: str, base_url: str | None, timeout_seconds: float) -> openai.AsyncOpenAI:
    # Imported here: the SDK takes about a second to import, and without an API key it is
    # never needed. Its own retries are off: ours know whether text was already streamed to a
    # customer, and count towards the circuit breaker.
    import openai

    return openai.AsyncOpenAI(
        api_key=api_key, base_url=base_url or None, timeout=timeout_seconds, max_retries=0
    )


def is_retryable(error: BaseException) -> bool:
    import openai

    if isinstance(error, openai.APIStatusError):
        return error.status_code >= 500 or error.status_code in _RETRY_STATUS
    return isinstance(error, openai.APIConnectionError | TimeoutError | _StreamEndedEarly)


class _StreamEndedEarly(Exception):
    """The stream closed without a finish reason: the answer may be cut off."""


class ChatModel:
    """One model behind an OpenAI-compatible API. Retries are bounded and happen only before
    the first text delta (a retry after that would repeat text the customer already saw);
    every call that ends in failure counts towards the breaker."""

    def __init__(
        self,
        client: openai.AsyncOpenAI,
        options: LLMOptions | None = None,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self._client = client
        self.options = options or LLMOptions()
        self.breaker = breaker or CircuitBreaker()
        # Told of every call: its seconds, prompt and completion tokens (the metrics).
        self.on_call: Callable[[float, int, int], None] | None = None

    @property
    def name(self) -> str:
        return self.options.model

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        usage: TokenUsage,
        deadline: float | None = None,
        tools: Sequence[Tool] = (),
    ) -> AsyncGenerator[str | ToolCall, None]:
        """Text deltas of one completion, then the tools it called (offered in `tools`);
        raises LLMError when no complete answer comes by `deadline` (the event loop's
        clock), whatever the number of tries."""
        if not self.breaker.allow():
            raise LLMUnavailable("the language model failed repeatedly; not calling it for now")
        verdict = False
        began = time.perf_counter()
        before = (usage.prompt_tokens, usage.completion_tokens)
        try:
            for attempt in range(self.options.retries + 1):
                produced = False
                try:
                    attempt_deltas = self._attempt(messages, usage, deadline, tools)
                    async with aclosing(attempt_deltas) as deltas:
                        async for delta in deltas:
                            produced = True
                            yield delta
                except Exception as exc:
                    last_try = attempt == self.options.retries
                    # A model that timed out once is not tried again: the customer's budget
                    # would go to the same wait, and the breaker hears of it at once.
                    timed_out = isinstance(exc, TimeoutError)
                    backoff = self._backoff(attempt)
                    no_time = deadline is not None and _left(deadline) <= backoff
                    if produced or last_try or timed_out or no_time or not is_retryable(exc):
                        self.breaker.record_failure()
                        verdict = True
                        log.warning("LLM call failed after %d attempt(s): %r", attempt + 1, exc)
                        raise LLMError(_describe(exc)) from exc
                    await asyncio.sleep(backoff)
                    continue
                self.breaker.record_success()
                verdict = True
                return
        finally:
            if not verdict:  # cancelled, or the caller stopped reading
                self.breaker.release()
            if self.on_call is not None:
                self.on_call(
                    time.perf_counter() - began,
                    usage.prompt_tokens - before[0],
                    usage.completion_tokens - before[1],
                )

    async def complete(self, messages: Sequence[ChatMessage], usage: TokenUsage) -> str:
        pieces = [delta async for delta in self.stream(messages, usage)]
        return "".join(piece for piece in pieces if isinstance(piece, str))

    async def _attempt(
        self,
        messages: Sequence[ChatMessage],
        usage: TokenUsage,
        deadline: float | None,
        tools: Sequence[Tool],
    ) -> AsyncGenerator[str | ToolCall, None]:
        def timeout() -> float:
            """The per-wait timeout, cut short by what is left of the total budget."""
            if deadline is None:
                return self.options.timeout_seconds
            left = _left(deadline)
            if left <= 0:
                raise TimeoutError("the answer's time budget is spent")
            return min(self.options.timeout_seconds, left)

        usage.calls += 1
        async with asyncio.timeout(timeout()):
            stream = await self._client.chat.completions.create(
                model=self.options.model,
                messages=cast(Any, list(messages)),
                stream=True,
                stream_options={"include_usage": True},
                max_tokens=self.options.max_tokens,
                temperature=self.options.temperature,
                tools=cast(Any, list(tools)) if tools else _omit(),
            )
        finished = False
        calls: dict[int, list[str]] = {}  # tool call index -> [name, arguments so far]
        try:
            chunks = aiter(stream)
            while True:
                try:
                    async with asyncio.timeout(timeout()):
                        chunk = await anext(chunks)
                except StopAsyncIteration:
                    break
                if chunk.usage is not None:
                    usage.add(chunk.usage)
                for choice in chunk.choices:
                    finished = finished or choice.finish_reason is not None
                    if choice.delta is None:
                        continue
                    if choice.delta.content:
                        yield choice.delta.content
                    for piece in choice.delta.tool_calls or ():
                        call = calls.setdefault(piece.index, ["", ""])
                        if piece.function is not None:
                            call[0] += piece.function.name or ""
                            call[1] += piece.function.arguments or ""
        finally:
            await stream.close()
        if not finished:
            raise _StreamEndedEarly("the stream ended without a finish reason")
        for index in sorted(calls):
            yield ToolCall(*calls[index])

    def _backoff(self, attempt: int) -> float:
        base = min(2.0, self.options.backoff_seconds * 2**attempt)
        return float(base * random.uniform(0.5, 1.0))


def _omit() -> Any:
    import openai

    return openai.omit


def _left(deadline: float) -> float:
    return deadline - asyncio.get_running_loop().time()


def _describe(error: BaseException) -> str:
    import openai

    if isinstance(error, TimeoutError):
        return "the language model did not answer in time"
    if isinstance(error, openai.APIStatusError):
        return f"the language model answered HTTP {error.status_code}"
    return f"the language model call failed: {type(error).__name__}"
