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
    plan_assignments,
    queue_score,
    team_settings,
)

A, B, C = (uuid.UUID(int=n) for n in (1, 2, 3))
ON, AWAY, OFF = PresenceStatus.ONLINE, PresenceStatus.AWAY, PresenceStatus.OFFLINE


def cand(
    agent: uuid.UUID,
    status: PresenceStatus = ON,
    load: int = 0,
    capacity: int = 3,
    last: float = 0.0,
) -> Candidate:
    return Candidate(
        agent_id=agent, status=status, load=load, capacity=capacity, last_assigned_at=last
    )


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


X, Y, Z, W = (uuid.UUID(int=n) for n in (101, 102, 103, 104))


@pytest.mark.parametrize(
    ("heads", "candidates", "exclusions", "refused", "expected"),
    [
        ([], [cand(A)], {}, (), []),
        ([X, Y], [], {}, (), []),
        # Spread like one pick at a time: least loaded, then longest since the last pick.
        ([X, Y, Z], [cand(A), cand(B)], {}, (), [(X, A), (Y, B), (Z, A)]),
        ([X, Y, Z], [cand(A, last=9), cand(B, last=1)], {}, (), [(X, B), (Y, A), (Z, B)]),
        ([X, Y, Z], [cand(A, load=1), cand(B)], {}, (), [(X, B), (Y, A), (Z, B)]),
        # Capacity runs out inside the plan; the rest wait.
        ([X, Y, Z], [cand(A, capacity=1), cand(B, load=1, capacity=2)], {}, (), [(X, A), (Y, B)]),
        # Away and offline agents get nothing; refused agents are skipped for the whole plan.
        ([X, Y], [cand(A, status=AWAY), cand(B, status=OFF), cand(C)], {}, (), [(X, C), (Y, C)]),
        ([X, Y], [cand(A), cand(B)], {}, (A,), [(X, B), (Y, B)]),
        # An exclusion skips one conversation; the one behind it is not held up.
        ([X, Y], [cand(A)], {X: {A}}, (), [(Y, A)]),
        ([X, Y, Z, W], [cand(A), cand(B)], {X: {A}, Y: {A, B}}, (), [(X, B), (Z, A), (W, B)]),
    ],
)
def test_plan_assignments(heads, candidates, exclusions, refused, expected) -> None:
    assert (
        plan_assignments(heads, candidates, now=100.0, exclusions=exclusions, refused=refused)
        == expected
    )


def test_a_plan_matches_choosing_one_at_a_time() -> None:
    agents = [
        cand(uuid.UUID(int=n), load=n % 3, capacity=4, last=float(n * 7 % 5)) for n in range(1, 9)
    ]
    heads = [uuid.UUID(int=1000 + n) for n in range(30)]
    pool, sequential = {c.agent_id: c for c in agents}, []
    for index, conversation in enumerate(heads):
        chosen = choose_agent(pool.values())
        if chosen is None:
            break
        before = pool[chosen]
        pool[chosen] = msgspec.structs.replace(
            before, load=before.load + 1, last_assigned_at=1000.0 + index
        )
        sequential.append((conversation, chosen))
    assert plan_assignments(heads, agents, now=1000.0) == sequential
    assert len(sequential) == sum(4 - c.load for c in agents)


def test_queue_order_is_priority_then_time() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    later = t0 + timedelta(minutes=5)
    assert queue_score(Priority.URGENT, later) < queue_score(Priority.HIGH, t0)
    assert queue_score(Priority.NORMAL, t0) < queue_score(Priority.NORMAL, later)
    assert queue_score(Priority.NORMAL, later) < queue_score(Priority.LOW, t0)
    # Millisecond precision survives in the float score.
    assert (
        queue_score(Priority.LOW, t0 + timedelta(milliseconds=1)) - queue_score(Priority.LOW, t0)
        == 1
    )


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
    assert (
        assistant_mode_of(team_settings({"assistant_mode": "first"}), "off") is AssistantMode.FIRST
    )
    assert team_settings({"mode": "manual", "unanswered_seconds": 0}).unanswered_seconds == 0
    with pytest.raises(msgspec.ValidationError):
        team_settings({"mode": "round-robin"})
    with pytest.raises(msgspec.ValidationError):
        team_settings({"surprise": 1})
    assert Priority.parse("Urgent") is Priority.URGENT
