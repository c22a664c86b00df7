"""The ranking changes measured and not taken, as the evaluation computes them."""

from __future__ import annotations

import numpy as np
import pytest

from server.assistant.ranking_candidates import best_plus_second, clean_question, rocchio_query


def test_request_phrasing_is_removed_from_a_question() -> None:
    assert clean_question("How do I export my data?") == "export my data"
    assert (
        clean_question("is it possible to add a to-do with a due date")
        == "add a to-do with a due date"
    )
    assert clean_question("I want to cancel, please") == "cancel"
    assert clean_question("Hi, can you tell me the price?") == "the price"
    assert clean_question("please") == "please"  # nothing would be left


def test_rocchio_moves_the_question_towards_its_best_chunks_at_the_same_length() -> None:
    chunks = np.asarray([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]], dtype=np.float32)
    query = np.asarray([0.8, 0.6], dtype=np.float32) * 0.9  # a mean of unit vectors is shorter
    moved = rocchio_query(query, chunks, np.asarray([0.1, 0.9, 0.8]), top=2, share=0.3)
    assert np.linalg.norm(moved) == pytest.approx(np.linalg.norm(query), rel=1e-6)
    assert moved[1] / moved[0] > query[1] / query[0]  # towards chunks 1 and 2, not 0


def test_an_article_gains_a_share_of_its_second_chunk() -> None:
    slugs = ["a", "a", "b"]
    assert best_plus_second(np.asarray([0.5, 0.4, 0.52]), slugs, 0.1) == [
        ("a", 0.54),
        ("b", 0.52),
    ]
