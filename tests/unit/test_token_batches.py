"""How texts are grouped into model batches by padded tokens."""

from __future__ import annotations

from server.assistant.embeddings import token_batches


def test_batches_are_sorted_by_length_and_padded_within_the_budget() -> None:
    lengths = [40, 256, 12, 40, 200, 12, 256, 30]
    batches = token_batches(lengths, budget=512, most=64)
    assert batches == [[2, 5, 7, 0, 3], [4, 1], [6]]
    assert sorted(i for batch in batches for i in batch) == list(range(len(lengths)))
    assert all(len(b) * max(lengths[i] for i in b) <= 512 for b in batches)


def test_a_text_longer_than_the_budget_goes_alone_and_most_caps_short_ones() -> None:
    assert token_batches([600, 10], budget=512, most=64) == [[1], [0]]
    assert token_batches([5] * 5, budget=1024, most=2) == [[0, 1], [2, 3], [4]]
    assert token_batches([], budget=1024, most=2) == []
