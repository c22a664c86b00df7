"""Which process's embedded servers a command beside `parley serve` uses."""

from __future__ import annotations

import json
import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from server.embedded.sharing import RUNNING_FILE, RunningServices, announced, running_services


@pytest.fixture
def listener() -> Iterator[str]:
    """A URL whose port accepts connections, as a running database's does."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield f"postgresql://parley@127.0.0.1:{sock.getsockname()[1]}/parley"


@pytest.fixture
def other_process() -> Iterator[int]:
    """The pid of another live process."""
    child = subprocess.Popen(["sleep", "60"])
    yield child.pid
    child.kill()
    child.wait()


def _record(data_dir: Path, pid: int, urls: dict[str, str]) -> None:
    (data_dir / RUNNING_FILE).write_text(json.dumps({"pid": pid, "urls": urls}))


def test_a_live_owner_whose_servers_answer_is_used(
    tmp_path: Path, listener: str, other_process: int
) -> None:
    _record(tmp_path, other_process, {"database_url": listener})
    assert running_services(tmp_path) == RunningServices(other_process, {"database_url": listener})


def test_a_dead_owner_is_ignored(tmp_path: Path, listener: str) -> None:
    finished = subprocess.Popen(["true"])
    finished.wait()
    _record(tmp_path, finished.pid, {"database_url": listener})
    assert running_services(tmp_path) is None


def test_a_live_pid_whose_servers_do_not_answer_is_ignored(
    tmp_path: Path, other_process: int
) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    _record(tmp_path, other_process, {"database_url": f"postgresql://p@127.0.0.1:{closed}/p"})
    assert running_services(tmp_path) is None


@pytest.mark.parametrize(
    "content", ["", "not json", "[]", '{"pid": "x", "urls": {}}', '{"urls": {}}', '{"pid": 1}']
)
def test_a_missing_or_unreadable_record_is_ignored(tmp_path: Path, content: str) -> None:
    assert running_services(tmp_path) is None
    (tmp_path / RUNNING_FILE).write_text(content)
    assert running_services(tmp_path) is None


def test_this_process_never_borrows_from_itself(tmp_path: Path, listener: str) -> None:
    with announced(tmp_path, {"database_url": listener}):
        recorded = json.loads((tmp_path / RUNNING_FILE).read_text())
        assert recorded == {"pid": os.getpid(), "urls": {"database_url": listener}}
        assert running_services(tmp_path) is None
    assert not (tmp_path / RUNNING_FILE).exists()


def test_the_owner_leaves_a_newer_owners_record_in_place(
    tmp_path: Path, listener: str, other_process: int
) -> None:
    with announced(tmp_path, {"database_url": listener}):
        _record(tmp_path, other_process, {"database_url": listener})  # a later server took over
    assert running_services(tmp_path) == RunningServices(other_process, {"database_url": listener})
