"""The in-process parts of the message limits, with time passed in: leases and socket buckets."""

from __future__ import annotations

from server.core.rates import Rate
from server.routing.local_limits import (
    LEASE_IDLE_SECONDS,
    LEASE_MAX,
    Leases,
    LocalBuckets,
    lease_size,
)


def test_lease_size_is_a_tenth_of_the_burst_at_most_and_never_zero() -> None:
    assert [lease_size(Rate(count, 60)) for count in (1, 19, 20, 45, 300, 100_000)] == [
        1,
        1,
        2,
        4,
        LEASE_MAX,
        LEASE_MAX,
    ]


def test_a_lease_serves_what_it_holds_and_idle_ones_are_handed_back() -> None:
    leases = Leases()
    leases.add("a", 4, now=10.0)
    leases.add("b", 2, now=10.0)
    assert [leases.take("a", 1, now=10.5) for _ in range(5)] == [True] * 4 + [False]
    assert leases.take("b", 1, now=10.2)
    # "a" is empty and "b" holds one; neither was used for LEASE_IDLE_SECONDS yet.
    assert leases.idle(now=10.2 + LEASE_IDLE_SECONDS / 2) == {}
    assert leases.idle(now=10.5 + LEASE_IDLE_SECONDS) == {"b": 1}
    assert leases.held("a") == leases.held("b") == 0
    leases.add("c", 3, now=20.0)
    assert leases.surrender("c") == 3
    assert leases.all() == {}


def test_a_socket_bucket_refills_evenly_and_is_dropped_once_full() -> None:
    rate = Rate(3, 60)  # one token per 20 s
    buckets = LocalBuckets()
    for _ in range(3):
        assert buckets.wait(rate, "messages_per_socket|s", 1, now=0.0) == 0
        buckets.take(rate, "messages_per_socket|s", 1, now=0.0)
    assert buckets.wait(rate, "messages_per_socket|s", 1, now=5.0) == 15.0
    buckets.give_back(rate, "messages_per_socket|s", 1, now=5.0)
    assert buckets.wait(rate, "messages_per_socket|s", 1, now=5.0) == 0
    rates = {"messages_per_socket": rate}
    buckets.sweep(rates, now=30.0)
    assert len(buckets) == 1  # 1.25 + 25 / 20 tokens: not full yet
    buckets.sweep(rates, now=60.0)
    assert len(buckets) == 0
