"""The heap is frozen at start-up and after each burst of connections, not on every change."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from server.heap import HeapFreezer


@pytest.fixture
def unfrozen() -> Iterator[None]:
    # Freezing is process-wide: give the test process its heap back whatever happens.
    yield
    gc.unfreeze()


def test_freezes_after_each_burst_measured_from_the_last_freeze(unfrozen: None) -> None:
    connected = [0]
    freezer = HeapFreezer(lambda: connected[0], step=500)
    freezer.freeze()  # start-up
    assert freezer.freezes == 1 and gc.get_freeze_count() > 0

    connected[0] = 499
    assert not freezer.check()
    connected[0] = 500
    assert freezer.check()
    assert not freezer.check()  # nothing new since
    connected[0] = 900
    assert not freezer.check()
    connected[0] = 1000
    assert freezer.check()
    assert freezer.freezes == 3


def test_a_fall_lowers_the_mark_so_the_next_burst_counts_from_there(unfrozen: None) -> None:
    connected = [3000]
    freezer = HeapFreezer(lambda: connected[0], step=500)
    freezer.freeze()
    connected[0] = 100  # a storm of departures
    assert not freezer.check()
    connected[0] = 599
    assert not freezer.check()
    connected[0] = 600  # a storm of reconnects: 500 more than after the drop
    assert freezer.check()
    assert freezer.freezes == 2


def test_a_freeze_never_counts_the_frozen_heap(
    unfrozen: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # gc.get_freeze_count() walks every frozen object (tens of ms with thousands of
    # connections): a freeze in the middle of a burst must not pay for it.
    def walks_the_frozen_heap() -> int:
        raise AssertionError("gc.get_freeze_count() called while freezing")

    monkeypatch.setattr(gc, "get_freeze_count", walks_the_frozen_heap)
    connected = [0]
    freezer = HeapFreezer(lambda: connected[0], step=500)
    freezer.freeze()
    connected[0] = 500
    assert freezer.check()
    assert freezer.freezes == 2
