"""How the open-files budget splits a descriptor limit (server/connection_budget.py)."""

from __future__ import annotations

import resource
from pathlib import Path

import pytest

from server.config import ConfigError, load_settings
from server.connection_budget import (
    FIXED_RESERVE,
    Budget,
    connection_budget,
    listen_queue_size,
    raise_open_files_limit,
)


def test_the_cap_leaves_room_for_a_whole_listen_queue_and_the_fixed_reserve() -> None:
    # The bench's machine: 20,000 descriptors. The cap leaves an eighth of them for a whole
    # queue accepted at once and refusals still closing; the queue starts deeper (it shrinks as
    # connections come: listen_queue.py).
    room = 20_000 - FIXED_RESERVE
    assert connection_budget(20_000, 4096) == Budget(cap=room - 2_500, backlog=4096, room=room)
    # A large limit: the margin and the queue as configured.
    room = 1_048_576 - FIXED_RESERVE
    assert connection_budget(1_048_576, 4096) == Budget(cap=room - 4096, backlog=4096, room=room)
    # A small one: a margin of at least 64, the queue at most half of the free descriptors,
    # never under 32; never a cap under one.
    assert connection_budget(400, 4096) == Budget(cap=80, backlog=72, room=144)
    assert connection_budget(100, 4096) == Budget(cap=1, backlog=32, room=100 - FIXED_RESERVE)


def test_a_configured_cap_applies_only_below_what_the_limit_allows() -> None:
    assert connection_budget(20_000, 4096, configured=1_000).cap == 1_000
    assert connection_budget(20_000, 4096, configured=50_000).cap == 17_244


def test_an_unlimited_process_has_no_cap_but_a_configured_one() -> None:
    assert connection_budget(resource.RLIM_INFINITY, 4096).backlog == 4096
    assert connection_budget(resource.RLIM_INFINITY, 4096).cap > 1_000_000_000
    assert connection_budget(resource.RLIM_INFINITY, 4096, configured=500).cap == 500


def test_the_listen_queue_follows_a_raised_kernel_ceiling(tmp_path: Path) -> None:
    somaxconn = tmp_path / "somaxconn"
    somaxconn.write_text("16384\n")
    assert listen_queue_size(4096, str(somaxconn)) == 16_384
    # A lower ceiling: ask for the default anyway (the kernel caps it, at no cost).
    somaxconn.write_text("128\n")
    assert listen_queue_size(4096, str(somaxconn)) == 4096
    # Not Linux, or unreadable: the default.
    assert listen_queue_size(4096, str(tmp_path / "absent")) == 4096
    somaxconn.write_text("many\n")
    assert listen_queue_size(4096, str(somaxconn)) == 4096
    # The queue still stays within half of the free descriptors.
    assert connection_budget(1_048_576, 16_384).backlog == 16_384
    assert connection_budget(20_000, 16_384).backlog == 9_872


def test_the_soft_limit_is_raised_to_the_hard_one() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(soft, 256), hard))
        assert raise_open_files_limit() == hard
        assert resource.getrlimit(resource.RLIMIT_NOFILE) == (hard, hard)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_the_setting_is_read_and_checked() -> None:
    assert load_settings(environ={}).max_connections == 0
    assert load_settings(environ={"PARLEY_MAX_CONNECTIONS": "5000"}).max_connections == 5000
    with pytest.raises(ConfigError, match="PARLEY_MAX_CONNECTIONS"):
        load_settings(environ={"PARLEY_MAX_CONNECTIONS": "-1"})
