"""Paragraph passages of a chunk and the in-memory index that scores them."""

from __future__ import annotations

import numpy as np

from server.assistant.chunking import Chunk
from server.assistant.passages import PassageIndex, mixed_cosine, paragraphs, passage_texts


def test_paragraphs_are_blocks_and_list_items_without_headings_or_markup() -> None:
    body = (
        "## Keys\n\nUse **vi** or emacs keys\nin copy mode.\n\n"
        "- `mode-keys` sets the key table\n- status on or off\n- ok\n\nNote:"
    )
    assert paragraphs(body) == [
        "Use vi or emacs keys in copy mode.",
        "- mode-keys sets the key table",
        "- status on or off",
    ]


def test_passage_texts_start_with_the_heading_path() -> None:
    chunk = Chunk(
        "Options", ("Copy mode",), "Use vi keys in copy mode.\n\nOr emacs keys if you like.", 0
    )
    assert passage_texts(chunk) == [
        "Options > Copy mode",
        "Options > Copy mode: Use vi keys in copy mode.",
        "Options > Copy mode: Or emacs keys if you like.",
    ]


def _rows(*vectors: list[float]) -> bytes:
    return np.asarray(vectors, dtype="<f4").tobytes()


def test_index_gives_heading_and_best_paragraph_cosines() -> None:
    index = PassageIndex(
        [
            (1, _rows([1, 0, 0], [0, 1, 0], [0.6, 0.8, 0])),  # heading, two paragraphs
            (2, _rows([0, 0, 1])),  # a heading only: its cosine stands in for a paragraph
            (3, None),  # embedded before passages existed: left out
        ],
        dimensions=3,
    )
    assert len(index) == 2
    scores = index.cosines(np.asarray([0, 1, 0], dtype=np.float32))
    assert (scores.get(1), scores.get(2), scores.get(3)) == ((0.0, 1.0), (0.0, 0.0), None)
    assert scores.best(5) == [1, 2] and scores.best(1) == [1]
    across = index.cosines(np.asarray([1, 0, 0], dtype=np.float32))
    heading, paragraph = across.get(1) or (0.0, 0.0)
    assert (heading, round(paragraph, 6)) == (1.0, 0.6)  # the heading row is not a paragraph
    assert across.best(1) == [1]


def test_an_empty_index_scores_nothing() -> None:
    scores = PassageIndex([], dimensions=3).cosines(np.ones(3, dtype=np.float32))
    assert scores.get(1) is None and scores.best(3) == []


def test_mixed_cosine_weighs_chunk_heading_and_paragraph() -> None:
    assert mixed_cosine(1.0, 1.0, 1.0) == 1.0
    assert mixed_cosine(0.0, 0.0, 1.0) > mixed_cosine(1.0, 0.0, 0.0) > mixed_cosine(0.0, 1.0, 0.0)
