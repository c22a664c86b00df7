"""A real local HTTP server speaking the OpenAI protocol, scripted per test.

`/v1/chat/completions` streams Server-Sent Events exactly like the API (complete chunk
objects, usage in the final chunk, `data: [DONE]`), tool calls included (`delta.tool_calls`
pieces, then `finish_reason: "tool_calls"`), or misbehaves on purpose: HTTP errors, hangs,
stalls, malformed events and dropped connections. `/v1/embeddings` returns
deterministic bag-of-words vectors, base64-encoded when asked (the SDK's default).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from aiohttp import web

from tests.support import free_port


@dataclass(frozen=True)
class Call:
    """A tool call the fake model makes after its text: `name(arguments)`."""

    name: str
    arguments: str = "{}"


def decline(reason: str = "the passages do not answer it") -> Call:
    return Call("decline", json.dumps({"reason": reason}))


@dataclass
class Reply:
    """Stream `text` in pieces of `piece` characters, then the `calls` (each as a first piece
    with its id and name, then its arguments in pieces of `piece` characters). With
    `fail_after` pieces sent, the stream then misbehaves as `failure` says: disconnect,
    stall, malformed or eof."""

    text: str | Callable[[dict[str, Any]], str]
    calls: tuple[Call, ...] = ()
    piece: int = 12
    fail_after: int | None = None
    failure: str = "disconnect"
    delay: float = 0.0  # before the response starts
    piece_delay: float = 0.002  # between two pieces (a slow model streams slowly)


@dataclass
class Status:
    status: int
    message: str = "fake failure"


@dataclass
class Hang:
    seconds: float


Behaviour = Reply | Status | Hang


@dataclass
class FakeOpenAI:
    url: str = ""
    script: list[Behaviour] = field(default_factory=list)
    default: Behaviour = field(default_factory=lambda: Reply("The answer is in the passages [1]."))
    chat_requests: list[dict[str, Any]] = field(default_factory=list)
    embedding_requests: list[dict[str, Any]] = field(default_factory=list)
    runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def next_behaviour(self) -> Behaviour:
        return self.script.pop(0) if self.script else self.default

    async def start(self) -> FakeOpenAI:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/v1/embeddings", self._embeddings)
        self.runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.1)
        await self.runner.setup()
        port = free_port()
        await web.TCPSite(self.runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.chat_requests.append(body)
        behaviour = self.next_behaviour()
        if isinstance(behaviour, Hang):
            await asyncio.sleep(behaviour.seconds)
            return web.json_response({"error": {"message": "too late"}}, status=504)
        if isinstance(behaviour, Status):
            error = {"message": behaviour.message, "type": "server_error", "code": None}
            return web.json_response({"error": error}, status=behaviour.status)
        await asyncio.sleep(behaviour.delay)
        text = behaviour.text(body) if callable(behaviour.text) else behaviour.text
        return await self._stream(request, body, text, behaviour)

    async def _stream(
        self, request: web.Request, body: dict[str, Any], text: str, behaviour: Reply
    ) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        chunk_id, created, model = "chatcmpl-fake", int(time.time()), body.get("model", "fake")

        def event(choices: list[dict[str, Any]], usage: dict[str, int] | None = None) -> bytes:
            chunk = {"id": chunk_id, "object": "chat.completion.chunk", "created": created,
                     "model": model, "choices": choices}  # fmt: skip
            if usage is not None:
                chunk["usage"] = usage
            return f"data: {json.dumps(chunk)}\n\n".encode()

        await response.write(event([{"index": 0, "delta": {"role": "assistant", "content": ""},
                                     "finish_reason": None}]))  # fmt: skip
        for number, delta in enumerate(_deltas(text, behaviour)):
            if behaviour.fail_after is not None and number == behaviour.fail_after:
                return await self._misbehave(request, response, behaviour.failure)
            await response.write(event([{"index": 0, "delta": delta, "finish_reason": None}]))
            await asyncio.sleep(behaviour.piece_delay)
        finish = "tool_calls" if behaviour.calls else "stop"
        await response.write(event([{"index": 0, "delta": {}, "finish_reason": finish}]))
        prompt_tokens = sum(len(m["content"].split()) for m in body["messages"])
        completion_tokens = len(text.split())
        usage = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                 "total_tokens": prompt_tokens + completion_tokens}  # fmt: skip
        if body.get("stream_options", {}).get("include_usage"):
            await response.write(event([], usage))
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response

    async def _misbehave(
        self, request: web.Request, response: web.StreamResponse, failure: str
    ) -> web.StreamResponse:
        if failure == "stall":
            await asyncio.sleep(30)
        elif failure == "malformed":
            await response.write(b'data: {"id": "chatcmpl-fake", "choices": [{"ind\n\n')
            await response.write(b"data: [DONE]\n\n")
            await response.write_eof()
        elif failure == "eof":  # a clean end, but no finish_reason and no [DONE]
            await response.write_eof()
        else:  # drop the connection mid-answer
            assert request.transport is not None
            request.transport.close()
        return response

    async def _embeddings(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.embedding_requests.append(body)
        texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
        dimensions = int(body.get("dimensions") or 64)
        data = []
        for index, text in enumerate(texts):
            vector = bag_of_words_vector(text, dimensions)
            if body.get("encoding_format") == "base64":
                raw = struct.pack(f"<{dimensions}f", *vector)
                embedding: Any = base64.b64encode(raw).decode()
            else:
                embedding = vector
            data.append({"object": "embedding", "index": index, "embedding": embedding})
        tokens = sum(len(t.split()) for t in texts)
        return web.json_response({"object": "list", "data": data, "model": body["model"],
                                  "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})  # fmt: skip


def _deltas(text: str, behaviour: Reply) -> list[dict[str, Any]]:
    """The `delta` objects of a streamed reply: its text in pieces, then each tool call."""
    size = behaviour.piece
    deltas: list[dict[str, Any]] = [
        {"content": text[i : i + size]} for i in range(0, len(text), size)
    ]
    for index, call in enumerate(behaviour.calls):
        opening = {"index": index, "id": f"call_fake{index}", "type": "function",
                   "function": {"name": call.name, "arguments": ""}}  # fmt: skip
        deltas.append({"tool_calls": [opening]})
        for i in range(0, len(call.arguments), size):
            piece = {"index": index, "function": {"arguments": call.arguments[i : i + size]}}
            deltas.append({"tool_calls": [piece]})
    return deltas


def bag_of_words_vector(text: str, dimensions: int) -> list[float]:
    """Unit vector of hashed lower-case words: texts sharing words have a high cosine."""
    vector = np.zeros(dimensions, dtype=np.float64)
    for word in re.findall(r"[a-z0-9]+", text.lower()):
        bucket = int.from_bytes(hashlib.sha256(word.encode()).digest()[:4], "little")
        vector[bucket % dimensions] += 1.0
    norm = float(np.linalg.norm(vector)) or 1.0
    return [float(x) for x in vector / norm]
