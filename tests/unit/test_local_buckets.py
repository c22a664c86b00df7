"""Token buckets kept in one process (a socket's messages_per_socket): burst, refill, give
back, and buckets that refilled are forgotten."""

from __future__ import annotations

from server.core.rates import Rate
from server.routing.limits import Charge, LocalBuckets

SOCKET = "messages_per_socket"


def test_a_burst_then_one_per_refill_interval() -> None:
    buckets = LocalBuckets({SOCKET: Rate(3, 60)})  # 3 at once, then one every 20 s
    charge = Charge(SOCKET, "process:sid", local=True)
    for _ in range(3):
        assert buckets.wait(charge, 100.0) == 0.0
        buckets.take(charge, 100.0)
    assert buckets.wait(charge, 100.0) == 20.0
    assert buckets.wait(charge, 110.0) == 10.0
    assert buckets.wait(charge, 120.0) == 0.0
    buckets.take(charge, 120.0)
    assert buckets.wait(charge, 120.0) == 20.0
    # Another socket has its own bucket.
    assert buckets.wait(Charge(SOCKET, "process:other", local=True), 120.0) == 0.0


def test_giving_back_never_passes_the_burst() -> None:
    buckets = LocalBuckets({SOCKET: Rate(2, 60)})
    charge = Charge(SOCKET, "process:sid", local=True)
    buckets.take(charge, 0.0)
    buckets.take(charge, 0.0)
    buckets.give_back(charge, 0.0)
    assert buckets.wait(charge, 0.0) == 0.0
    buckets.take(charge, 0.0)
    assert buckets.wait(charge, 0.0) == 30.0
    buckets.give_back(charge, 0.0)
    buckets.give_back(charge, 0.0)
    buckets.give_back(charge, 0.0)  # more than was taken: still a burst of two
    buckets.take(charge, 0.0)
    buckets.take(charge, 0.0)
    assert buckets.wait(charge, 0.0) == 30.0


def test_refilled_buckets_are_forgotten() -> None:
    buckets = LocalBuckets({SOCKET: Rate(10, 10)})
    for n in range(1023):
        buckets.take(Charge(SOCKET, f"departed:{n}", local=True), 0.0)
    live = Charge(SOCKET, "live", local=True)
    for _ in range(10):
        buckets.take(live, 1.5)  # the 1,024th bucket: the departed ones are full by now
    assert len(buckets._levels) == 1
    assert buckets.wait(live, 1.5) == 1.0
