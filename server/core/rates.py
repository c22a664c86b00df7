"""Rate limits as settings write them: "<count>/<seconds>", a burst refilled over the seconds."""

from __future__ import annotations

import re
from dataclasses import dataclass

_RATE = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*s?\s*")


@dataclass(frozen=True, slots=True)
class Rate:
    """A token bucket: up to `count` at once, refilled at count/seconds per second."""

    count: int
    seconds: int

    @classmethod
    def parse(cls, text: str) -> Rate:
        match = _RATE.fullmatch(text)
        if match is None:
            raise ValueError(f"{text!r} is not a rate like 120/60 (count per seconds)")
        rate = cls(int(match[1]), int(match[2]))
        if rate.count < 1 or rate.seconds < 1:
            raise ValueError(f"{text!r}: count and seconds must be at least 1")
        return rate

    @property
    def per_second(self) -> float:
        return self.count / self.seconds
