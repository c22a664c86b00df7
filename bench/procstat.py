"""CPU time of processes and their children, read from /proc (Linux), for per-message costs."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name sits in parentheses and may itself contain spaces or parentheses.
    return text[text.rindex(")") + 2 :].split()


def _children(parents: set[int]) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if fields is not None and int(fields[1]) in parents:
            found.append(int(entry.name))
    return found


def tree_cpu_seconds(pids: Iterable[int]) -> float:
    """User + system CPU of these processes, of their live children (one level, as PostgreSQL's
    backends are), and of the children they already reaped; comparable between two readings."""
    roots = set(pids)
    total_ticks = 0
    for pid in roots:
        fields = _stat_fields(pid)
        if fields is not None:
            # utime, stime, cutime, cstime: fields 14-17 of proc(5), counted after the name.
            total_ticks += sum(int(value) for value in fields[11:15])
    for pid in _children(roots):
        fields = _stat_fields(pid)
        if fields is not None:
            total_ticks += int(fields[11]) + int(fields[12])
    return total_ticks / _TICK


def own_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system
