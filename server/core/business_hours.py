"""Weekly opening hours: when the support team answers, for the widget's "we're away" mode."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, tzinfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

_RULE = re.compile(
    r"^(?P<first>[a-z]{3})(?:-(?P<last>[a-z]{3}))?\s+"
    r"(?P<start>\d{1,2}:\d{2})-(?P<end>\d{1,2}:\d{2})$"
)


@dataclass(frozen=True, slots=True)
class Opening:
    weekday: int  # Monday is 0, as in datetime.weekday()
    start: time
    # None means midnight at the end of the day ("24:00").
    end: time | None

    def covers(self, moment: time) -> bool:
        return self.start <= moment and (self.end is None or moment < self.end)


@dataclass(frozen=True, slots=True)
class WeeklyHours:
    """Openings per weekday in one time zone; no openings at all means always open."""

    openings: tuple[Opening, ...]
    zone: tzinfo

    @classmethod
    def parse(cls, text: str, zone: tzinfo) -> WeeklyHours:
        """Parse rules like "mon-fri 09:00-17:00; sat 10:00-14:00" (days lower or upper case)."""
        openings: list[Opening] = []
        for raw in text.split(";"):
            rule = " ".join(raw.split()).lower()
            if not rule:
                continue
            found = _RULE.match(rule)
            if not found:
                raise ValueError(f"cannot read {raw.strip()!r}; write e.g. 'mon-fri 09:00-17:00'")
            first, last = found["first"], found["last"] or found["first"]
            if first not in DAYS or last not in DAYS:
                raise ValueError(f"unknown day in {raw.strip()!r}; use {', '.join(DAYS)}")
            start, end = _clock(found["start"]), _clock(found["end"])
            if start is None:
                raise ValueError(f"an opening cannot start at 24:00 in {raw.strip()!r}")
            if end is not None and end <= start:
                raise ValueError(f"closing time must be after opening time in {raw.strip()!r}")
            first_index, last_index = DAYS.index(first), DAYS.index(last)
            if last_index < first_index:
                raise ValueError(f"day range goes backwards in {raw.strip()!r}")
            openings += [Opening(day, start, end) for day in range(first_index, last_index + 1)]
        return cls(tuple(openings), zone)

    @property
    def always_open(self) -> bool:
        return not self.openings

    def is_open(self, at: datetime) -> bool:
        if self.always_open:
            return True
        local = at.astimezone(self.zone)
        moment = local.time().replace(tzinfo=None)
        return any(o.weekday == local.weekday() and o.covers(moment) for o in self.openings)


def _clock(text: str) -> time | None:
    hours, minutes = (int(part) for part in text.split(":"))
    if (hours, minutes) == (24, 0):
        return None
    if hours > 23 or minutes > 59:
        raise ValueError(f"{text} is not a time of day")
    return time(hours, minutes)
