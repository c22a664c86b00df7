"""Routing decisions as pure functions: queue order, agent choice, team settings, wait estimates.

The Redis scripts only make these decisions atomic; everything worth testing with tables lives
here, with no I/O.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from enum import IntEnum, StrEnum
from typing import Any
from uuid import UUID

import msgspec

from .models import PresenceStatus


class Priority(IntEnum):
    URGENT = 0
    HIGH = 1
    NORMAL = 2
    LOW = 3

    @classmethod
    def parse(cls, name: str) -> Priority:
        return cls[name.upper()]

    @property
    def label(self) -> str:
        return self.name.lower()


class RoutingMode(StrEnum):
    AUTO = "auto"  # the system assigns
    MANUAL = "manual"  # waiting conversations are offered; the first agent to claim gets it


class AssistantMode(StrEnum):
    OFF = "off"
    WHEN_NO_AGENT = "when_no_agent"
    FIRST = "first"


class TeamSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A team's routing settings (teams.settings). None means: the deployment default."""

    mode: RoutingMode = RoutingMode.AUTO
    capacity_default: int | None = None
    grace_seconds: float | None = None
    # None: the deployment default; 0: unanswered-chat reassignment is off for this team.
    unanswered_seconds: float | None = None
    # None: the deployment default (PARLEY_ASSISTANT_MODE).
    assistant_mode: AssistantMode | None = None


def team_settings(raw: Mapping[str, Any] | None) -> TeamSettings:
    return msgspec.convert(dict(raw or {}), TeamSettings)


_LIMITS = {
    "capacity_default": (0, 1000),
    "grace_seconds": (0, 86_400),
    "unanswered_seconds": (0, 86_400),
}


def checked_team_settings(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Admin input for teams.settings: validated, with messages a person can act on, and
    stored without the unset (default) values."""
    from .errors import invalid

    try:
        parsed = msgspec.convert(dict(raw), TeamSettings, strict=True)
    except msgspec.ValidationError as exc:
        raise invalid(f"routing settings: {exc}") from exc
    clean: dict[str, Any] = {k: v for k, v in msgspec.to_builtins(parsed).items() if v is not None}
    for name, (low, high) in _LIMITS.items():
        value = clean.get(name)
        if value is not None and not low <= value <= high:
            raise invalid(f"routing settings: {name} must be between {low} and {high}")
    return clean


def assistant_mode_of(settings: TeamSettings, default: str) -> AssistantMode:
    """The team's assistant mode, or the deployment's when the team has none."""
    return settings.assistant_mode or AssistantMode(default)


# Scores must order priority first, then time queued. Unix milliseconds stay below 1e13 until
# the year 2286, and priority * 1e13 + ms stays exact in a double (< 2^53).
_PRIORITY_STRIDE = 10**13


def queue_score(priority: Priority, queued_at: datetime) -> float:
    return float(int(priority) * _PRIORITY_STRIDE + int(queued_at.timestamp() * 1000))


class Candidate(msgspec.Struct, frozen=True):
    agent_id: UUID
    status: PresenceStatus
    load: int
    capacity: int
    # Unix seconds of their last assignment; 0 when never assigned.
    last_assigned_at: float = 0.0

    @property
    def eligible(self) -> bool:
        return self.status is PresenceStatus.ONLINE and self.load < self.capacity


def choose_agent(candidates: Iterable[Candidate], *, exclude: Iterable[UUID] = ()) -> UUID | None:
    """Least loaded first, then the one who has waited longest since their last assignment.

    Only online agents under capacity are eligible ("away" keeps its chats but takes no new
    ones). Ties beyond that fall to the agent id, so every process makes the same choice.
    """
    excluded = set(exclude)
    eligible = [c for c in candidates if c.eligible and c.agent_id not in excluded]
    if not eligible:
        return None
    # UUIDs order as their canonical text does (fixed-width hex), without building the text.
    best = min(eligible, key=lambda c: (c.load, c.last_assigned_at, c.agent_id.int))
    return best.agent_id


def plan_assignments(
    heads: Sequence[UUID],
    candidates: Iterable[Candidate],
    *,
    now: float,
    exclusions: Mapping[UUID, Iterable[UUID]] | None = None,
    refused: Iterable[UUID] = (),
) -> list[tuple[UUID, UUID]]:
    """(conversation, agent) pairs for the head of a line, in line order: exactly what
    choose_agent would pick one conversation at a time, each pick counting towards the
    agent's load and making them the most recently assigned. A conversation only excluded
    agents could take is skipped; the ones behind it still get their turn."""
    pool = {c.agent_id: c for c in candidates}
    blocked = set(refused)
    plan: list[tuple[UUID, UUID]] = []
    for conversation_id in heads:
        excluded = blocked | set((exclusions or {}).get(conversation_id, ()))
        agent_id = choose_agent(pool.values(), exclude=excluded)
        if agent_id is None:
            continue
        chosen = pool[agent_id]
        # Later picks in the same plan are later in time: strictly after any real assignment.
        picked_at = max(now, chosen.last_assigned_at) + len(plan) * 1e-6
        pool[agent_id] = msgspec.structs.replace(
            chosen, load=chosen.load + 1, last_assigned_at=picked_at
        )
        plan.append((conversation_id, agent_id))
    return plan


class WaitEstimate(msgspec.Struct, frozen=True):
    seconds: int | None
    enough_data: bool


MIN_SAMPLES = 5


def estimate_wait(
    position: int, recent_assignments: Sequence[float], *, now: float, horizon: float = 7200
) -> WaitEstimate:
    """How long the conversation at `position` (1 = next) will likely wait.

    From real recent assignments of the team: the typical gap between two assignments, times
    the number of conversations ahead plus this one. With fewer than MIN_SAMPLES assignments in
    the horizon, there is not enough data to say, and we say so instead of guessing.
    """
    times = sorted(t for t in recent_assignments if now - t <= horizon)
    if len(times) < MIN_SAMPLES:
        return WaitEstimate(seconds=None, enough_data=False)
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    typical_gap = statistics.median(gaps)
    return WaitEstimate(seconds=max(0, round(typical_gap * position)), enough_data=True)
