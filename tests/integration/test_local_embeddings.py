"""The offline MiniLM embedder against the real pinned model, plus the thin OpenAI adapter."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from server.assistant.embeddings import (
    MODEL_SHA256,
    TOKENIZER_SHA256,
    Embedder,
    LocalMiniLM,
    ModelFileError,
    OpenAIEmbedder,
    default_model_path,
    default_tokenizer_path,
    embedder_from_settings,
    sha256_of,
)


@pytest.fixture(scope="module")
def minilm() -> LocalMiniLM:
    embedder = LocalMiniLM()
    embedder.load()
    return embedder


def cosine(a: list[float], b: list[float]) -> float:
    return float(np.dot(a, b))


def test_installed_files_match_the_pins() -> None:
    assert sha256_of(default_model_path()) == MODEL_SHA256
    assert sha256_of(default_tokenizer_path()) == TOKENIZER_SHA256


async def test_vectors_have_384_unit_length_dimensions(minilm: LocalMiniLM) -> None:
    vectors = await minilm.embed(["How do I cancel?", "Zoom links on booking pages", "ok"])
    assert isinstance(minilm, Embedder)
    assert minilm.dimensions == 384
    assert [len(v) for v in vectors] == [384, 384, 384]
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


async def test_similar_sentences_score_higher_than_unrelated(minilm: LocalMiniLM) -> None:
    question, paraphrase, unrelated = await minilm.embed(
        [
            "I forgot my password and can't sign in",
            "How to reset a forgotten password",
            "Our office is closed on public holidays",
        ]
    )
    assert cosine(question, paraphrase) > 0.6
    assert cosine(question, unrelated) < 0.3


async def test_batching_and_order_do_not_change_vectors(minilm: LocalMiniLM) -> None:
    texts = ["short", "a somewhat longer sentence about invoices " * 3, "refund policy"]
    together = np.array(await minilm.embed(texts))
    alone = np.array([(await minilm.embed([t]))[0] for t in texts])
    assert np.allclose(together, alone, atol=1e-4)


async def test_long_text_is_truncated_not_rejected(minilm: LocalMiniLM) -> None:
    (vector,) = await minilm.embed(["calendar sync " * 2000])
    assert len(vector) == 384


async def test_empty_input_needs_no_model() -> None:
    assert await LocalMiniLM(model_path=Path("/nonexistent/model.onnx")).embed([]) == []


async def test_embedding_does_not_block_the_event_loop(minilm: LocalMiniLM) -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.001)

    task = asyncio.create_task(ticker())
    await minilm.embed([f"sentence number {i} about time zones" for i in range(200)])
    task.cancel()
    assert ticks >= 3


def test_a_tampered_model_file_is_refused(tmp_path: Path) -> None:
    copy = tmp_path / "model.onnx"
    shutil.copyfile(default_model_path(), copy)
    with copy.open("r+b") as handle:
        handle.seek(1000)
        handle.write(b"\x00\x01\x02\x03")
    with pytest.raises(ModelFileError, match="sha256"):
        LocalMiniLM(model_path=copy).load()


def test_a_missing_model_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="not found"):
        LocalMiniLM(model_path=tmp_path / "absent.onnx").load()


class FakeEmbeddings:
    """Stands in for `AsyncOpenAI().embeddings`; answers out of order like the API may."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    async def create(self, *, model: str, input: list[str], dimensions: int) -> Any:
        self.calls.append({"model": model, "input": input, "dimensions": dimensions})
        data = [
            SimpleNamespace(index=i, embedding=[float(len(t))] * 2) for i, t in enumerate(input)
        ]
        return SimpleNamespace(data=list(reversed(data)))


async def test_openai_embedder_batches_and_keeps_order() -> None:
    fake = FakeEmbeddings()
    client: Any = SimpleNamespace(embeddings=fake)
    embedder = embedder_from_settings(
        "openai", client=client, model="text-embedding-3-small", dimensions=2, batch_size=2
    )
    vectors = await embedder.embed(["a", "bb", "ccc"])
    assert vectors == [[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]]
    assert [c["input"] for c in fake.calls] == [["a", "bb"], ["ccc"]]
    assert isinstance(embedder, OpenAIEmbedder)
    assert embedder.name == "openai:text-embedding-3-small:2"


def test_unknown_embedder_kind_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown embedder"):
        embedder_from_settings("word2vec")
