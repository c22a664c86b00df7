"""The decline threshold chosen from scored sample questions."""

from __future__ import annotations

from server.assistant.calibration import choose_threshold


def test_threshold_never_rounds_above_the_answer_it_must_keep() -> None:
    # 67 answerable questions may lose 2 (3%): the third lowest, 0.4197, must stay answered.
    answerable = [0.355, 0.40, 0.4197, *([0.7] * 64)]
    threshold = choose_threshold(answerable, [0.1, 0.45])
    assert threshold == 0.419
    assert sum(score < threshold for score in answerable) == 2


def test_separated_sets_get_the_midpoint() -> None:
    assert choose_threshold([0.5, 0.6, 0.7], [0.1, 0.3]) == 0.4


def test_a_tiny_gap_still_keeps_the_lowest_answer() -> None:
    threshold = choose_threshold([0.4005, 0.6], [0.4])
    assert 0.4 <= threshold <= 0.4005
