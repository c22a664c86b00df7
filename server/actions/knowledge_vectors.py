"""The vectors a save stores for its new chunks: each chunk's own and its passages'."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..assistant.chunking import Chunk
from ..assistant.embeddings import Embedder, Vector
from ..assistant.passages import passage_texts

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ChunkVectors:
    embedding: Vector
    passages: bytes  # float32 rows: the heading path, then each paragraph


class EmbeddingFailed(Exception):
    """The embedder raised or answered with vectors of the wrong shape."""

    def __init__(self, message: str) -> None:
        super().__init__(message[:500])
        self.message = message[:500]


def texts_of(chunks: Iterable[Chunk]) -> list[str]:
    """Every text embedded for `chunks`, each once: chunks of one article share a heading
    path, and an import shares a call between articles (docs/retrieval.md, "Speed")."""
    texts: dict[str, None] = {}
    for chunk in chunks:
        texts[chunk.embedding_text] = None
        texts.update(dict.fromkeys(passage_texts(chunk)))
    return list(texts)


async def embed_texts(embedder: Embedder, texts: Sequence[str]) -> dict[str, Vector]:
    """Text -> vector for `texts` in one call to the embedder (a model run per batch of
    similar length there); raises EmbeddingFailed."""
    unique = list(dict.fromkeys(texts))
    if not unique:
        return {}
    try:
        vectors = await embedder.embed(unique)
    except Exception as exc:
        log.exception("embedding %d texts failed", len(unique))
        raise EmbeddingFailed(f"embedding failed: {type(exc).__name__}: {exc}") from exc
    if len(vectors) != len(unique) or any(len(v) != embedder.dimensions for v in vectors):
        raise EmbeddingFailed("embedding failed: the model returned vectors of the wrong shape")
    return dict(zip(unique, vectors, strict=True))


async def vectors_for(
    embedder: Embedder, chunks: Sequence[Chunk], ready: Mapping[str, Vector]
) -> dict[int, ChunkVectors]:
    """Each chunk's vectors by ordinal, from `ready` (text -> vector, embedded ahead) where
    there, the rest in one call; raises EmbeddingFailed."""
    fresh = await embed_texts(embedder, [t for t in texts_of(chunks) if t not in ready])

    def vector(text: str) -> Vector:
        return fresh[text] if text in fresh else ready[text]

    return {
        chunk.ordinal: ChunkVectors(
            embedding=list(vector(chunk.embedding_text)),
            passages=np.asarray([vector(t) for t in passage_texts(chunk)], dtype="<f4").tobytes(),
        )
        for chunk in chunks
    }
