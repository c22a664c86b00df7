"""Which process runs the embedded servers of a data directory, so that a second one uses them.

A zero-config `parley serve` starts PostgreSQL and Valkey under its data directory and is their
lifetime. A command run beside it (`parley kb import`, `parley agents create`) must use those
servers rather than start its own: PostgreSQL refuses a second postmaster on the same cluster,
and a second Valkey would be a different, empty one. The owner writes the URLs it started into
the data directory; the file counts only while its process is alive and the database answers.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlsplit

from .processes import connect_error, pid_alive

RUNNING_FILE = "embedded-services.json"
_REACHABLE_SECONDS = 1.0


class RunningServices(NamedTuple):
    """The embedded servers another live process started: its pid and their URLs by setting
    name (`database_url`, `redis_url`)."""

    pid: int
    urls: Mapping[str, str]


def running_services(data_dir: Path) -> RunningServices | None:
    """The embedded servers of `data_dir` that another live process runs, or None.

    A file left by an owner that was killed (its servers died with it, by the parent-death
    signal) does not count: its pid is gone, or was reused by a process whose URLs do not
    answer.
    """
    try:
        recorded = json.loads((data_dir / RUNNING_FILE).read_text(encoding="utf-8"))
        pid, urls = int(recorded["pid"]), dict(recorded["urls"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if pid == os.getpid() or not pid_alive(pid) or not all(map(_answers, urls.values())):
        return None
    return RunningServices(pid, {str(k): str(v) for k, v in urls.items()})


@contextlib.contextmanager
def announced(data_dir: Path, urls: Mapping[str, str]) -> Iterator[None]:
    """Record `urls` as this process's embedded servers for as long as the block runs."""
    path = data_dir / RUNNING_FILE
    partial = path.with_name(f".{RUNNING_FILE}.{os.getpid()}")
    partial.write_text(json.dumps({"pid": os.getpid(), "urls": dict(urls)}), encoding="utf-8")
    os.replace(partial, path)  # readers see the whole file or none
    try:
        yield
    finally:
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            if json.loads(path.read_text(encoding="utf-8"))["pid"] == os.getpid():
                path.unlink()


def _answers(url: str) -> bool:
    parts = urlsplit(url)
    if not parts.hostname or not parts.port:
        return False
    return connect_error(parts.hostname, parts.port, _REACHABLE_SECONDS) is None
