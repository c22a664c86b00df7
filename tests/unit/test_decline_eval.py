"""The decline-signal measurement: calibrated declines and leave-one-set-out fitting."""

from __future__ import annotations

import math

from server.assistant.calibration import headings_threshold
from server.assistant.decline_eval import (
    Scored,
    declined_at_calibration,
    leave_one_set_out,
    mixed,
)


def _question(in_scope: bool, top: float, signal: float) -> Scored:
    return Scored(in_scope, top, {"standout": signal})


def _set(off_topic_signal: float) -> list[Scored]:
    # 40 answerable questions from 0.50 to 0.89 with a standout of 1; four out-of-scope ones
    # that score like answers but have the given standout.
    answerable = [_question(True, 0.5 + i / 100, 1.0) for i in range(40)]
    return answerable + [_question(False, 0.7, off_topic_signal) for _ in range(4)]


def test_declines_are_counted_at_the_threshold_that_keeps_97_percent() -> None:
    questions = _set(0.0)
    # 3% of 40 is one question: the threshold is the second lowest answerable score, 0.51.
    assert declined_at_calibration(questions, lambda q: q.top) == 0
    low = [*questions, _question(False, 0.505, 0.0), _question(False, 0.51, 0.0)]
    assert declined_at_calibration(low, lambda q: q.top) == 1


def test_a_signal_alone_or_negated_is_an_infinite_weight() -> None:
    question = _question(True, 0.6, 2.0)
    assert mixed("standout", math.inf)(question) == 2.0
    assert mixed("standout", -math.inf)(question) == -2.0
    assert mixed("standout", 0.1)(question) == 0.6 + 0.1 * 2.0


def test_leave_one_set_out_fits_on_the_others_and_reports_the_held_out_set() -> None:
    sets = {"a": _set(0.0), "b": _set(0.0), "c": _set(0.0), "odd": _set(5.0)}
    folds = leave_one_set_out(sets, "standout", [0.0, 0.5])
    # Three sets whose off-topic questions lack the standout choose 0.5 and the held-out
    # one of them declines all four; on "odd" the signal points the other way.
    assert folds["a"] == (0.5, 4)
    assert folds["odd"] == (0.5, 0)


def test_headings_only_cap_the_threshold_and_generic_questions_raise_it() -> None:
    headings = [0.8 + i / 100 for i in range(40)]
    assert headings_threshold(headings, [0.1, 0.2], default=0.5) == 0.5
    assert headings_threshold(headings, [0.1, 0.53], default=0.5) == 0.55
    assert headings_threshold(headings, [0.1, 0.9], default=0.5) == 0.57  # HEADINGS_CEILING
