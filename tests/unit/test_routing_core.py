"""Table tests for the pure routing decisions."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from server.core.models import PresenceStatus
from server.core.routing import (
    AssistantMode,
    Candidate,
    Priority,
    RoutingMode,
    assistant_mode_of,
    choose_agent,
    estimate_wait,
    queue_score,
    team_settings,
)

A, B, C = (uuid.UUID(int=n) for n in (1, 2, 3))
ON, AWAY, OFF = PresenceStatus.ONLINE, PresenceStatus.AWAY, PresenceStatus.OFFLINE


def cand(agent: uuid.UUID, status: PresenceStatus = ON, load: int = 0, capacity: int = 3,
         last: float = 0.0) -> Candidate:
    return Candidate(agent_id=agent, status=status, load=load, capacity=capacity, last_assigned_at=last)


@pytest.mark.parametrize(
    ("candidates", "exclude", "expected"),
    [
        ([], (), None),
        ([cand(A)], (), A),
        ([cand(A, load=2), cand(B, load=1)], (), B),  # least loaded first
        ([cand(A, load=1, last=50), cand(B, load=1, last=10)], (), B),  # then longest since last
        ([cand(A, load=1, last=10), cand(B, load=1, last=10)], (), A),  # then a stable tie-break
        ([cand(A, load=3, capacity=3), cand(B, load=2, capacity=3)], (), B),  # full agents skipped
        ([cand(A, load=3, capacity=3)], (), None),
        ([cand(A, status=AWAY), cand(B, status=OFF), cand(C, load=2)], (), C),  # only online
        ([cand(A, status=AWAY)], (), None),  # away keeps chats, takes none
        ([cand(A), cand(B, load=1)], (A,), B),  # exclusions (unanswered) respected
        ([cand(A)], (A,), None),
        ([cand(A, load=0, capacity=0)], (), None),  # capacity 0: never assigned
        ([cand(A, load=5, capacity=3), cand(B, load=2, capacity=10)], (), B),  # over-full ignored
    ],
)
def test_choose_agent(candidates, exclude, expected) -> None:
    assert choose_agent(candidates, exclude=exclude) == expected


def test_choose_agent_does_not_depend_on_input_order() -> None:
    pool = [cand(A, load=1, last=5), cand(B, load=1, last=5), cand(C, load=2)]
    assert choose_agent(pool) == choose_agent(list(reversed(pool))) == A


def test_queue_order_is_priority_then_time() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    later = t0 + timedelta(minutes=5)
    assert queue_score(Priority.URGENT, later) < queue_score(Priority.HIGH, t0)
    assert queue_score(Priority.NORMAL, t0) < queue_score(Priority.NORMAL, later)
    assert queue_score(Priority.NORMAL, later) < queue_score(Priority.LOW, t0)
    # Millisecond precision survives in the float score.
    assert queue_score(Priority.LOW, t0 + timedelta(milliseconds=1)) - queue_score(Priority.LOW, t0) == 1


def test_wait_estimate_says_when_it_does_not_know() -> None:
    assert estimate_wait(1, [], now=1000).enough_data is False
    assert estimate_wait(1, [990, 995], now=1000).seconds is None
    times = [100, 160, 220, 280, 340, 400]
    estimate = estimate_wait(3, times, now=410)
    assert estimate.enough_data and estimate.seconds == 180
    stale = estimate_wait(1, times, now=100_000)
    assert stale.enough_data is False


def test_team_settings_defaults_and_validation() -> None:
    settings = team_settings({})
    assert settings.mode is RoutingMode.AUTO and settings.assistant_mode is None
    assert assistant_mode_of(settings, "when_no_agent") is AssistantMode.WHEN_NO_AGENT
    assert assistant_mode_of(team_settings({"assistant_mode": "first"}), "off") is AssistantMode.FIRST
    assert team_settings({"mode": "manual", "unanswered_seconds": 0}).unanswered_seconds == 0
    with pytest.raises(msgspec.ValidationError):
        team_settings({"mode": "round-robin"})
    with pytest.raises(msgspec.ValidationError):
        team_settings({"surprise": 1})
    assert Priority.parse("Urgent") is Priority.URGENT
