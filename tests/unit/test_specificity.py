"""The decline score's specificity: how far a question's nearest chunk stands out."""

from __future__ import annotations

import numpy as np
import pytest

from server.assistant.specificity import (
    CEILING,
    MIN_CHUNKS,
    NEUTRAL,
    SPECIFICITY_WEIGHT,
    ChunkVectors,
    decision_score,
)

DIMENSIONS = 8


def _unit(vector: np.ndarray) -> list[float]:
    return (vector / np.linalg.norm(vector)).astype(np.float32).tolist()


def _knowledge_base(chunks: int, seed: int = 7) -> list[list[float]]:
    rng = np.random.default_rng(seed)
    return [_unit(rng.normal(size=DIMENSIONS)) for _ in range(chunks)]


def test_a_question_close_to_one_chunk_is_more_specific_than_one_close_to_all() -> None:
    vectors = _knowledge_base(40)
    index = ChunkVectors(vectors, DIMENSIONS)
    specific = np.asarray(vectors[3], dtype=np.float32)  # exactly one chunk's direction
    general = np.mean(np.asarray(vectors, dtype=np.float32), axis=0)  # near all alike
    assert index.specificity(specific) > index.specificity(general) + 1.0
    # A z-score: the query's length does not change it.
    assert index.specificity(3 * specific) == pytest.approx(index.specificity(specific))


def test_small_knowledge_bases_and_uniform_scores_get_the_neutral_value() -> None:
    small = ChunkVectors(_knowledge_base(MIN_CHUNKS - 1), DIMENSIONS)
    assert small.specificity(np.ones(DIMENSIONS, dtype=np.float32)) == NEUTRAL
    same = ChunkVectors([_unit(np.ones(DIMENSIONS))] * MIN_CHUNKS, DIMENSIONS)
    assert same.specificity(np.ones(DIMENSIONS, dtype=np.float32)) == NEUTRAL
    assert len(ChunkVectors([None, [0.0] * 3], DIMENSIONS)) == 0  # missing or wrong size


def test_specificity_is_capped_and_never_negative() -> None:
    # One chunk along the query, many orthogonal ones: an extreme z-score, capped.
    vectors = [[1.0] + [0.0] * (DIMENSIONS - 1)]
    vectors += [[0.0, 1.0] + [0.0] * (DIMENSIONS - 2)] * 200
    vectors += [[0.0, 0.9, 0.1] + [0.0] * (DIMENSIONS - 3)] * 10
    index = ChunkVectors(vectors, DIMENSIONS)
    query = np.zeros(DIMENSIONS, dtype=np.float32)
    query[0] = 1.0
    assert index.specificity(query) == CEILING
    assert 0.0 <= index.specificity(-query) <= CEILING


def test_the_decision_score_adds_a_share_of_the_specificity() -> None:
    assert decision_score(0.5, 0.0) == 0.5
    assert decision_score(0.5, 3.0) == pytest.approx(0.5 + 3 * SPECIFICITY_WEIGHT)
