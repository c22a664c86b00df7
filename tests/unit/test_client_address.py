"""Which address login throttling counts: the direct peer, or what a trusted proxy saw."""

from __future__ import annotations

import pytest

from server.core.addresses import forwarded_client


@pytest.mark.parametrize(
    ("peer", "header", "hops", "expected"),
    [
        ("10.0.0.1", [], 0, "10.0.0.1"),  # no proxy: the peer
        ("10.0.0.1", ["6.6.6.6"], 0, "10.0.0.1"),  # no proxy: a client's header is ignored
        ("10.0.0.1", ["203.0.113.5"], 1, "203.0.113.5"),  # one proxy: what it appended
        ("10.0.0.1", ["6.6.6.6, 203.0.113.5"], 1, "203.0.113.5"),  # forged entries left of it
        ("10.0.0.1", ["6.6.6.6", "203.0.113.5"], 1, "203.0.113.5"),  # repeated headers join
        ("10.0.0.2", ["6.6.6.6, 203.0.113.5, 10.0.0.1"], 2, "203.0.113.5"),  # CDN, then balancer
        ("10.0.0.1", ["203.0.113.5"], 2, "10.0.0.1"),  # shorter than the chain: the peer
        ("10.0.0.1", [" , "], 1, "10.0.0.1"),  # empty entries do not count
        (None, [], 0, "unknown"),
    ],
)
def test_forwarded_client(peer: str | None, header: list[str], hops: int, expected: str) -> None:
    assert forwarded_client(peer, header, hops) == expected
